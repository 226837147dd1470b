"""The demo's comparison table: one line per model, then int8 relative to float32."""

from __future__ import annotations

from edgekit.results.report import fmt_ms
from edgekit.tables import format_table


def render_table(rows: list[dict]) -> str:
    """The table of :class:`edgekit.demo.DemoResult` ``models`` (latency: the p50, which single slow runs
    do not move the way they move a mean)."""
    lines = []
    for r in rows:
        lines.append((r["name"], f"{r['size_bytes']:,}", f"{100 * r['accuracy']:.2f}%",
                      fmt_ms(r["latency_ms"]["p50"]), fmt_ms(r["latency_ms"]["p90"]), f"{r['peak_rss_mb']:.1f}"))
    base, quant = rows[0], rows[-1]
    lines.append((f"{quant['name']}/{base['name']}", f"{100 * quant['size_bytes'] / base['size_bytes']:.1f}%",
                  f"{100 * (quant['accuracy'] - base['accuracy']):+.2f} pts",
                  f"{quant['latency_ms']['p50'] / base['latency_ms']['p50']:.2f}x",
                  f"{quant['latency_ms']['p90'] / base['latency_ms']['p90']:.2f}x",
                  f"{quant['peak_rss_mb'] - base['peak_rss_mb']:+.1f}"))
    headers = ("model", "size (bytes)", "accuracy", "p50 (ms)", "p90 (ms)", "peak RSS (MB)")
    return format_table(headers, lines, align="lrrrrr", indent=0)
