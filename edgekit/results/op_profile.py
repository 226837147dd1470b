"""The per-operator profile of a benchmark (``--op-profile``) as benchmark_model's operator-wise table."""

from __future__ import annotations

from edgekit.results.report import fmt_ms
from edgekit.tables import format_table


def render_op_profile(profile: dict) -> str:
    """Run-order table (node, op type, median ms, %, cumulative %, output name), a summary by op type,
    how it was measured, and the sum of the operators' medians against the whole model's median."""
    ops = profile["ops"]
    rows = [(op["index"], op["type"], fmt_ms(op["ms"]), f"{op['share']:.2f}%", f"{op['cumulative']:.2f}%",
             _short_name(op["name"])) for op in ops]
    summary = [(t["type"], t["count"], fmt_ms(t["ms"]), f"{t['share']:.2f}%") for t in profile["by_type"]]
    lines = [
        f"Operator-wise profile ({len(ops)} operators, run order):",
        format_table(("node", "op type", "median ms", "%", "cdf %", "name"), rows, align="rlrrrl"),
        "Summary by op type:",
        format_table(("op type", "count", "ms", "%"), summary, align="lrrr"),
        f"Measured:           {profile['method']}",
        f"Sum of operators:   {fmt_ms(profile['sum_ms'])} ms vs the whole model's median "
        f"{fmt_ms(profile['model_ms'])} ms" + _overhead(profile),
    ]
    if profile["stopped_early"]:
        fewest = min(op["runs"] for op in ops)
        lines.append(f"Note:               the time limit cut operators' runs short (fewest: {fewest} of "
                     f"{profile['runs_requested']})")
    lines += [f"Note:               node {op['index']} ({op['type']}): {op['note']}" for op in ops if op.get("note")]
    return "\n".join(lines)


def _short_name(name: str | None) -> str:
    """An operator's output tensor name up to its first ';' (the converter joins the fused ops' names)."""
    return name.split(";")[0] if name else "-"


def _overhead(profile: dict) -> str:
    if not profile["model_ms"]:
        return ""
    return f" (x{profile['sum_ms'] / profile['model_ms']:.2f}: the difference is the cost of running each alone)"
