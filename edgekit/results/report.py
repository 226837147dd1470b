"""Human-readable reports of benchmark results: one run, a history table, a comparison."""

from __future__ import annotations

import math
from typing import Any

from edgekit.tables import format_table

# (label, unit, getter) of the figures `compare` puts side by side; lower is better for all.
COMPARED: tuple[tuple[str, str, Any], ...] = (
    ("model size", "bytes", lambda r: r["model"]["size_bytes"]),
    ("init", "ms", lambda r: r["timing_ms"]["init"]),
    ("first inference", "ms", lambda r: r["timing_ms"]["first_inference"]),
    ("p50", "ms", lambda r: r["timing_ms"]["p50"]),
    ("p90", "ms", lambda r: r["timing_ms"]["p90"]),
    ("p99", "ms", lambda r: r["timing_ms"]["p99"]),
    ("mean", "ms", lambda r: r["timing_ms"]["mean"]),
    ("init footprint", "MB", lambda r: r["memory_mb"]["init_footprint"]),
    ("overall footprint", "MB", lambda r: r["memory_mb"]["overall_footprint"]),
    ("peak RSS", "MB", lambda r: r["memory_mb"]["peak_rss"]),
)


# Statistics of the timed runs: a change smaller than the runs' own spread is noise.
PER_INFERENCE = ("p50", "p90", "p99", "mean")
RESOLUTION_MS = 1e-4   # the agent reports milliseconds to 4 decimals


def noise_ms(a: dict, b: dict) -> float:
    """The latency change two runs (agent results) cannot tell apart: :func:`timing_noise_ms` of their timings."""
    return timing_noise_ms(a["timing_ms"], b["timing_ms"])


def timing_noise_ms(a: dict, b: dict) -> float:
    """Twice the standard error of the difference of two runs' medians, at least the reported resolution.

    ``a`` and ``b`` hold ``p50``, ``p90`` and ``runs``. Each run's spread is read robustly from
    its p90 - p50 (1.2816 standard deviations of a normal distribution; a mean or std would let
    single outliers in) and the standard error of a median of n runs is 1.2533 sigma / sqrt(n).
    """
    def standard_error(timing: dict) -> float:
        sigma = max(timing["p90"] - timing["p50"], 0.0) / 1.2816
        return 1.2533 * sigma / math.sqrt(max(timing.get("runs") or 1, 1))

    return max(2 * math.hypot(standard_error(a), standard_error(b)), RESOLUTION_MS)


def fmt_ms(value: float | None) -> str:
    """Milliseconds with precision that suits their size (microsecond models to slow ones)."""
    if value is None:
        return "-"
    return f"{value:.4f}" if abs(value) < 1 else f"{value:.3f}" if abs(value) < 100 else f"{value:.1f}"


def fmt_value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "bytes":
        return f"{value:,.0f}"
    return fmt_ms(value) if unit == "ms" else f"{value:.2f}"


def render_bench(result: dict) -> str:
    """benchmark_model-like report of one agent result."""
    model, runtime, host = result["model"], result["runtime"], result["host"]
    timing, memory, device = result["timing_ms"], result["memory_mb"], result["device"]
    fallbacks = "; ".join(f"{t['name']} unavailable: {t['error']}" for t in runtime.get("tried", []))
    io = ", ".join(f"{t['name']} {t['dtype']}{t['shape']}" for t in result["inputs"])
    warmup = (f"{fmt_ms(timing['warmup_mean'])} ms ({timing['warmup_runs']} runs)"
              if timing["warmup_runs"] else "- (0 runs)")
    runs = f"{timing['runs']}" + (f" of {timing['runs_requested']} (time limit)" if result.get("stopped_early") else "")
    lines = [
        f"Model:              {model['path']}",
        f"  size / sha256:    {model['size_bytes']:,} bytes / {model['sha256']}",
        f"  inputs:           {io}",
        f"Runtime:            {runtime['name']} {runtime['version']}"
        + (f"  [{result['delegate']}]" if result.get("delegate") else ""),
    ]
    if fallbacks:
        lines.append(f"  fallback:         {fallbacks}")
    lines += [
        f"Threads:            {result['threads']}",
        f"Host:               {host['hostname']}  {host['arch']}  {host['cpu_model']}  "
        f"{_cpus(host)}  Python {host['python']}  numpy {host['numpy']}"
        + (f"  ({host['board']})" if host.get("board") else ""),
        f"Init:               {fmt_ms(timing['init'])} ms",
        f"First inference:    {fmt_ms(timing['first_inference'])} ms",
        f"Warmup (avg):       {warmup}",
        f"Inference ({runs} runs, ms):",
        "  " + "  ".join(f"{k} {fmt_ms(timing[k])}" for k in ("p50", "p90", "p99")),
        "  " + "  ".join(f"{k} {fmt_ms(timing[k])}" for k in ("mean", "std", "min", "max")),
        f"Memory (MB):        init footprint {memory['init_footprint']:.2f}  overall footprint "
        f"{memory['overall_footprint']:.2f}  peak RSS {memory['peak_rss']:.2f}",
        f"Device:             {_device_line(device)}",
    ]
    lines += [f"Note:               {note}" for note in result.get("notes", [])]
    return "\n".join(lines)


def _device_line(device: dict) -> str:
    before, after = device["before"], device["after"]
    parts = [f"governor {after.get('governor') or '-'}"]
    if before.get("temp_c") is not None and after.get("temp_c") is not None:
        parts.append(f"temp {before['temp_c']:.1f} -> {after['temp_c']:.1f} C")
    else:
        parts.append("temp -")
    flags = after.get("throttled")
    if device.get("throttled"):
        parts.append(f"THROTTLED ({', '.join(device.get('throttle_reasons', []))}; flags {flags})")
    else:
        parts.append(f"throttled no{f' (flags {flags})' if flags else ''}")
    return ", ".join(parts)


def render_history(runs: list[dict]) -> str:
    """One line per run, in the order given (:func:`edgekit.results.history.list_history`'s)."""
    header = ("id", "when (UTC)", "kind", "label", "target", "host", "model", "runtime", "thr", "p50 ms", "p90 ms",
              "mean ms", "peak MB", "")
    rows = [
        (str(r["id"]), r["created"].replace("T", " ").rstrip("Z"), r["kind"], r["label"] or "-", r["target"], r["host"],
         f"{r['model_name']} ({(r['model_sha256'] or '')[:8]})", f"{r['runtime']} {r['runtime_version']}",
         str(r["threads"]), fmt_ms(r["p50_ms"]), fmt_ms(r["p90_ms"]), fmt_ms(r["mean_ms"]),
         fmt_value(r["peak_mb"], "MB"), "THROTTLED" if r["throttled"] else "")
        for r in runs
    ]
    return format_table(header, rows, align="llllllllrrrrrl", indent=0)


def compare_runs(a: dict, b: dict) -> list[dict]:
    """Per figure: A, B, B-A, % change and which run is better (lower wins), for --json and text.

    Only a figure with a noise estimate gets a verdict: per-inference latencies (p50, p90, p99,
    mean) carry ``noise``, :func:`noise_ms` of the two runs, and a change within it is
    ``within_noise``; the file size is exact (noise 0). Init, first inference and memory are
    one measurement each: ``noise`` and ``better`` are null, whatever the change.
    """
    noise = noise_ms(a["result"], b["result"])
    metrics = []
    for name, unit, get in COMPARED:
        va, vb = get(a["result"]), get(b["result"])
        delta = None if va is None or vb is None else vb - va
        percent = None if delta is None or not va else 100.0 * delta / va
        threshold = noise if name in PER_INFERENCE else 0.0 if unit == "bytes" else None
        within = delta is not None and threshold is not None and abs(delta) <= threshold
        better = None if threshold is None or not delta or within else ("b" if delta < 0 else "a")
        metrics.append({"name": name, "unit": unit, "a": va, "b": vb, "delta": delta, "percent": percent,
                        "better": better, "noise": threshold, "within_noise": within})
    return metrics


def render_compare(a: dict, b: dict, metrics: list[dict]) -> str:
    """Side-by-side table of two runs; the arrow says whether B is better or worse than A."""
    lines = [f"A = run {a['id']}: {_run_label(a)}", f"B = run {b['id']}: {_run_label(b)}", ""]
    rows = []
    for m in metrics:
        unit = m["unit"]
        delta = "-" if m["delta"] is None else ("+" if m["delta"] > 0 else "") + fmt_value(m["delta"], unit)
        percent = "-" if m["percent"] is None else f"{m['percent']:+.1f}%"
        verdict = ("" if m["noise"] is None else "≈ within noise" if m["within_noise"] and m["delta"]
                   else {"b": "↓ better", "a": "↑ worse", None: "= same"}[m["better"]])
        rows.append((f"{m['name']} ({unit})", fmt_value(m["a"], unit), fmt_value(m["b"], unit), delta, percent,
                     verdict))
    noise = next(m["noise"] for m in metrics if m["name"] in PER_INFERENCE)
    footer = (f"\nnoise threshold {fmt_ms(noise)} ms: twice the standard error of the difference of the runs' "
              "medians (from their p90 - p50 spread and run count); p50/p90/p99/mean changes within it are noise, "
              "not better or worse. Init, first inference and memory are one measurement each, with no noise "
              "estimate: no verdict")
    return "\n".join(lines + [format_table(("", "A", "B", "B - A", "%", ""), rows, align="lrrrrl", indent=0),
                              footer])


def _run_label(run: dict) -> str:
    return (f"{run['model_name']} ({(run['model_sha256'] or '')[:8]}) on {run['target']}/{run['host']}, "
            f"{run['runtime']} {run['runtime_version']}, {run['threads']} thread(s), {run['created']}")


def _cpus(host: dict) -> str:
    """'4 CPUs', or '4 CPUs (2 usable)' under a taskset or cgroup quota (older agents do not say)."""
    usable = host.get("cpus_usable")
    return f"{host['cpu_count']} CPUs" + (f" ({usable} usable)" if usable and usable != host["cpu_count"] else "")
