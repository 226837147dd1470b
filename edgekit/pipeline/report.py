"""``report.html``: one self-contained page (inline CSS + SVG, no scripts, no network).

What a reviewer wants to see at a glance: did the build pass, how big/accurate/fast is
the model, what each variant traded (a table and accuracy against gzip size: what an
over-the-air update moves), whether this build is better or worse than the previous build
of the same config, where the bytes are (per Keras layer, with the pruned share), how
latency is spread, and links to every file the build wrote.
"""

from __future__ import annotations

import html
from pathlib import Path

from edgekit.fileio import atomic_write_text
from edgekit.pipeline.budgets import BUDGETS, passed as budgets_passed
from edgekit.results.report import timing_noise_ms
from edgekit.ticks import linear_ticks

PALETTE = ["#4c6ef5", "#12b886", "#f59f00", "#e64980", "#7950f2", "#15aabf"]
OK, BAD, INK, MUTED, GRID = "#2b8a3e", "#c92a2a", "#212529", "#868e96", "#e9ecef"
ELSEWHERE = "#e67700"   # measured off-target: neither ok nor failed

CSS = """
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#212529;background:#f4f6fa;margin:0}
main{max-width:1100px;margin:0 auto;padding:28px 24px 48px}
h1{font-size:26px;margin:0 0 4px} h2{font-size:17px;margin:0 0 12px}
.sub{color:#868e96;margin-bottom:20px}
.badge{display:inline-block;padding:3px 12px;border-radius:999px;color:#fff;font-weight:600;font-size:14px;vertical-align:middle;margin-left:10px}
.cards{display:grid;grid-template-columns:repeat(5,1fr);gap:14px;margin-bottom:18px}
.card,.panel{background:#fff;border-radius:12px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.card{padding:14px 16px} .card .v{font-size:24px;font-weight:650} .card .k{color:#868e96;font-size:13px}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:16px;margin-bottom:16px}
.panel{padding:16px 18px} .wide{grid-column:1/3}
table{border-collapse:collapse;width:100%} td,th{padding:6px 8px;border-bottom:1px solid #e9ecef;text-align:left;font-size:14px}
th{color:#868e96;font-weight:600} td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#2b8a3e;font-weight:600} .muted{color:#868e96} .bad{color:#c92a2a;font-weight:600} .off{color:#e67700;font-weight:600}
.note{color:#868e96;font-size:13px;margin-top:6px} code{font-size:13px}
svg text{font-family:system-ui,sans-serif}
"""


def render_report(result) -> str:
    """The HTML text of the report for a :class:`~edgekit.pipeline.build.BuildResult`."""
    final = result.final
    passed = budgets_passed(result.verdicts)
    bench = result.bench or {}
    timing = bench.get("timing_ms") or {}
    weights = result.conversion["summary"] if result.conversion else f"{result.config.convert.storage} weights"
    cards = [
        (f"{final.size_bytes / 1024:.1f} KB", f"{final.name} .tflite, {weights}"),
        (f"{final.gzip_bytes / 1024:.1f} KB", "gzipped"),
        (_quality(final), f"{final.quality[0]} ({_quality(result.baseline)} float32)"),
        (f"{timing['p50']:.3f} ms" if timing else "n/a", f"p50 latency on {_short(result.bench_where)}"),
        (f"{result.arena['bytes'] / 1024:.1f} KB" if result.arena else "n/a", "TFLM tensor arena"),
    ]
    body = [
        f"<h1>{_e(result.config.model.source)} &rarr; {_e(final.name)}"
        f"<span class='badge' style='background:{OK if passed else BAD}'>{'PASSED' if passed else 'FAILED'}</span></h1>",
        f"<div class='sub'>target <b>{_e(result.config.target.name)}</b> · built from "
        f"<code>{_e(result.config.path.name)}</code> · edgekit {_e(result.versions.get('edgekit', ''))}, "
        f"TensorFlow {_e(result.versions.get('tensorflow', ''))}</div>",
        "<div class='cards'>" + "".join(f"<div class='card'><div class='v'>{_e(v)}</div><div class='k'>{_e(k)}</div></div>"
                                        for v, k in cards) + "</div>",
        "<div class='grid'>",
        _panel("Budgets", _budget_table(result.verdicts), wide=True),
        _panel("Variants", _variant_table(result), wide=True),
        _panel("Accuracy vs size of every variant", _scatter(result.variants)),
        _panel("Latency distribution", _latency(bench, result.bench_where)),
        _panel("Trend: this build against the previous builds of this config", _trend(result.history), wide=True),
        _panel("Per-layer weight size and sparsity", _layers(result.layers), wide=True),
        _panel("Artifacts", _artifacts(result), wide=True),
    ]
    if result.edgetpu:
        body.append(_panel("Coral Edge TPU", _edgetpu(result.edgetpu), wide=True))
    body.append("</div>")
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>edgekit build: {_e(final.name)}</title><style>{CSS}</style></head>"
            f"<body><main>{''.join(body)}</main></body></html>\n")


def write_report(result, path: str | Path) -> Path:
    return atomic_write_text(path, render_report(result))


# --- panels ------------------------------------------------------------------------------

def _panel(title: str, content: str, wide: bool = False) -> str:
    return f"<section class='panel{' wide' if wide else ''}'><h2>{_e(title)}</h2>{content}</section>"


def _budget_table(verdicts) -> str:
    if not verdicts:
        return "<div class='note'>No [budgets] in edgekit.toml.</div>"
    rows = []
    for v in verdicts:
        unit = BUDGETS[v.name][1]
        value = "not measured" if v.value is None else f"{v.value:.4g} {unit}"
        fill = 0 if v.value is None or not v.limit else min(v.value / v.limit, 1.5) / 1.5
        css, word, color = (("off", "off-target", ELSEWHERE) if v.off_target else ("ok", "ok", OK) if v.ok
                            else ("bad", f"exit {v.code}", BAD))
        bar = (f"<svg width='160' height='12'><rect width='160' height='12' rx='6' fill='{GRID}'/>"
               f"<rect width='{160 * fill:.1f}' height='12' rx='6' fill='{color}'/>"
               f"<line x1='{160 / 1.5:.1f}' x2='{160 / 1.5:.1f}' y1='0' y2='12' stroke='{INK}' stroke-width='2'/></svg>")
        rows.append(f"<tr><td><code>{v.name}</code></td><td class='num'>{_e(value)}</td>"
                    f"<td class='num'>{v.limit:.4g} {unit}</td><td>{bar}</td>"
                    f"<td class='{css}'>{word}</td>"
                    f"<td class='note'>{_e(v.note)}</td></tr>")
    return ("<table><tr><th>budget</th><th>value</th><th>limit</th><th>value / limit</th><th>verdict</th><th></th></tr>"
            + "".join(rows) + "</table>")


def _quality(variant) -> str:
    """``98.6%`` for an accuracy, ``0.0123`` for an error."""
    name, value = variant.quality
    return f"{value:.4g}" if name == "mae" else f"{value * 100:.1f}%"


def _variant_table(result) -> str:
    baseline = result.baseline.quality[1]
    rows = []
    for v in result.variants:
        t = v.timing_ms or {}
        name, value = v.quality
        delta = (value - baseline) * (1 if name == "mae" else 100)
        rows.append(f"<tr><td><a href='variants/{_e(v.path.name)}'><b>{_e(v.name)}</b></a></td>"
                    f"<td class='num'>{v.size_bytes / 1024:.1f} KB</td><td class='num'>{v.gzip_bytes / 1024:.1f} KB</td>"
                    f"<td class='num'>{_quality(v)}</td>"
                    f"<td class='num'>{'' if v is result.baseline else _signed(delta, '' if name == 'mae' else ' pt')}</td>"
                    f"<td class='num'>{_ms(t.get('p50'))}</td><td class='num'>{_ms(t.get('p90'))}</td></tr>")
    where = _short(result.bench_where)
    note = (f"Latency measured on {_e(where)}." if all(v.timing_ms for v in result.variants)
            else f"Latency of the final model only, measured on {_e(where)}: deploying the other variants "
                 "to the device would make them its rollback history.")
    metric = result.baseline.quality[0].replace("_", " ")
    return ("<table id='variants'><tr><th>variant</th><th>size</th><th>gzip -9</th>"
            f"<th>{_e(metric)}</th><th>vs float32</th><th>p50</th><th>p90</th></tr>"
            + "".join(rows) + f"</table><div class='note'>{note}</div>")


def _trend(history: list[dict]) -> str:
    if len(history) < 2:
        return "<div class='note'>The first build of this config into this directory: the next build is compared with it.</div>"
    rows, previous = [], None
    for entry in history[-10:]:
        cells = [f"<td>{_e(entry.get('built_at', ''))}</td>"]
        for key, unit, scale, better in (("size_bytes", " KB", 1 / 1024, -1), ("gzip_bytes", " KB", 1 / 1024, -1),
                                         ("value", "", 1, 1 if entry.get("metric") != "mae" else -1),
                                         ("p50_ms", " ms", 1, -1)):
            now = entry.get(key)
            text = "n/a" if now is None else (_quality_of(entry) if key == "value" else f"{now * scale:.4g}{unit}")
            before = None if previous is None else previous.get(key)
            change = "" if now is None or before is None or now == before else _change(
                (now - before) * better, _signed((now - before) * scale * (100 if key == 'value' and entry.get('metric') != 'mae' else 1), ''),
                _trend_noise(key, previous, entry))
            cells.append(f"<td class='num'>{text}{change}</td>")
        edited = previous is not None and previous.get("config_sha256") != entry.get("config_sha256")
        cells.append(f"<td class='note'>{'config changed' if edited else ''}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
        previous = entry
    return ("<table id='trend'><tr><th>built (UTC)</th><th>size</th><th>gzip -9</th><th>quality</th><th>p50</th><th></th></tr>"
            + "".join(rows) + "</table><div class='note'>Changes against the build before; green is better, red worse. "
            "A p50 change is coloured only beyond the two builds' noise (twice the standard error of the difference "
            "of their medians, as <code>edgekit compare</code> judges it); grey: within the noise, or builds that "
            "recorded no spread.</div>")


def _trend_noise(key: str, before: dict, now: dict) -> float | None:
    """The change of ``key`` that is noise: 0 for the exact figures, the runs' noise for p50, None if unknown."""
    if key != "p50_ms":
        return 0.0
    timings = [{"p50": e.get("p50_ms"), "p90": e.get("p90_ms"), "runs": e.get("runs")} for e in (before, now)]
    if any(t["p90"] is None or t["p50"] is None for t in timings):
        return None
    return timing_noise_ms(*timings)


def _change(gain: float, text: str, noise: float | None) -> str:
    """A change as a coloured span: green if ``gain`` > 0, red if < 0, grey when within ``noise`` or without one."""
    css = "muted" if noise is None or abs(gain) <= noise else "ok" if gain > 0 else "bad"
    return f" <span class='{css}'>{text}</span>"


def _artifacts(result) -> str:
    out = result.out_dir
    files = [out / "model.tflite", *(v.path for v in result.variants), out / "manifest.json"]
    export = result.exports.get("c_array")
    if export:
        files += [Path(export["header"]), Path(export["source"])]
    rows = "".join(f"<tr><td><a href='{_e(p.relative_to(out).as_posix())}'><code>{_e(p.relative_to(out).as_posix())}</code></a></td>"
                   f"<td class='num'>{p.stat().st_size:,} B</td></tr>" for p in files if p.is_file())
    return f"<table id='artifacts'><tr><th>file</th><th>size</th></tr>{rows}</table>"


def _scatter(variants) -> str:
    w, h, left, bottom, top, right = 500, 280, 56, 40, 16, 20
    sizes = [v.gzip_bytes / 1024 for v in variants]
    raws = [v.size_bytes / 1024 for v in variants]
    metric = variants[0].quality[0]
    percent = metric != "mae"
    accs = [v.quality[1] * (100 if percent else 1) for v in variants]
    x_max = max(raws) * 1.15
    a_lo, a_hi = min(accs), max(accs)
    pad = max((a_hi - a_lo) * 0.25, 1.0 if percent else a_hi * 0.1 or 1e-3)
    y_lo, y_hi = max(a_lo - pad, 0), (min(a_hi + pad, 100) if percent else a_hi + pad)
    sx = lambda s: left + (w - left - right) * s / x_max
    sy = lambda a: top + (h - top - bottom) * (1 - (a - y_lo) / (y_hi - y_lo))
    parts = _axes(w, h, left, bottom, top, right, [(sx(t), f"{t:.0f}") for t in linear_ticks(0, x_max)],
                  [(sy(t), f"{t:.3g}") for t in linear_ticks(y_lo, y_hi)], "gzip -9 size (KB); ring: raw file",
                  f"{metric.replace('_', ' ')}{' (%)' if percent else ''}")
    legend = []
    for i, (v, s, r, a) in enumerate(zip(variants, sizes, raws, accs)):
        color = PALETTE[i % len(PALETTE)]
        parts.append(f"<line x1='{sx(s):.1f}' x2='{sx(r):.1f}' y1='{sy(a):.1f}' y2='{sy(a):.1f}' stroke='{color}' "
                     f"stroke-dasharray='3 3'/><circle cx='{sx(r):.1f}' cy='{sy(a):.1f}' r='5' fill='none' "
                     f"stroke='{color}' stroke-width='2'/>")
        parts.append(f"<circle cx='{sx(s):.1f}' cy='{sy(a):.1f}' r='{9 - 2 * (i % 3)}' fill='{color}' "
                     f"fill-opacity='.85' stroke='#fff' stroke-width='2'/>")
        legend.append(f"<span style='margin-right:18px'><span style='color:{color};font-size:18px'>&#9679;</span> "
                      f"<b>{_e(v.name)}</b> {s:.1f} KB gzip ({r:.1f} KB raw) · {_quality(v)}</span>")
    return _svg(w, h, parts) + f"<div class='note'>{''.join(legend)}</div>"


def _latency(bench: dict, where: str) -> str:
    timing = bench.get("timing_ms") if bench else None
    if not timing:
        return "<div class='note'>Latency was not measured.</div>"
    samples = bench.get("samples_ms")
    if not samples:
        return (f"<div class='note'>Per-run samples were not recorded (an older agent on {_e(where)}): "
                f"p50 {timing['p50']:.3g} ms, p90 {timing['p90']:.3g} ms, p99 {timing['p99']:.3g} ms.</div>")
    w, h, left, bottom, top, right = 500, 280, 56, 40, 16, 20
    # Up to p99: the few slowest runs (a scheduler hiccup) would squeeze every other run into one bar.
    lo, hi = min(samples), max(timing["p99"], min(samples))
    bins = 24
    width = (hi - lo) / bins or 1e-6
    counts = [0] * bins
    for s in samples:
        if s <= hi:
            counts[min(int((s - lo) / width), bins - 1)] += 1
    beyond = len(samples) - sum(counts)
    c_max = max(counts)
    sx = lambda t: left + (w - left - right) * (t - lo) / (hi - lo or 1e-6)
    sy = lambda c: top + (h - top - bottom) * (1 - c / c_max)
    parts = _axes(w, h, left, bottom, top, right, [(sx(t), f"{t:.3g}") for t in linear_ticks(lo, hi)],
                  [(sy(t), f"{t:.0f}") for t in linear_ticks(0, c_max) if t == int(t)], "latency (ms)", "runs")
    bar_w = (w - left - right) / bins
    for i, c in enumerate(counts):
        parts.append(f"<rect x='{left + i * bar_w + 1:.1f}' y='{sy(c):.1f}' width='{bar_w - 2:.1f}' "
                     f"height='{h - bottom - sy(c):.1f}' rx='2' fill='{PALETTE[0]}'/>")
    for name, color, anchor, dx, dy in (("p50", OK, "start", 4, 12), ("p99", BAD, "end", -4, 28)):
        x = sx(timing[name])
        parts.append(f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{top}' y2='{h - bottom}' stroke='{color}' "
                     f"stroke-dasharray='4 3' stroke-width='2'/><text x='{x + dx:.1f}' y='{top + dy}' "
                     f"text-anchor='{anchor}' font-size='12' fill='{color}'>{name} {timing[name]:.3g}</text>")
    note = (f"Histogram of the {len(samples)} timed runs on {_e(where)} ({bins} bins of {width:.3g} ms); "
            f"dashed: p50 and p99; {beyond} run(s) slower than p99 (up to {max(samples):.3g} ms) are not drawn.")
    return _svg(w, h, parts) + f"<div class='note'>{note}</div>"


def _layers(layers: list[dict]) -> str:
    if not layers:
        return "<div class='note'>No weight tensors.</div>"
    w, row, left, right = 1020, 30, 300, 150
    h = row * len(layers) + 30
    b_max = max(l["bytes"] for l in layers)
    sx = lambda b: (w - left - right) * b / b_max
    parts = []
    for i, l in enumerate(layers):
        y = 8 + i * row
        full, zeros = sx(l["bytes"]), sx(l["bytes"]) * l["sparsity"]
        name = l.get("layer") or l["tensor"]
        label = name if len(name) <= 40 else "…" + name[-39:]
        parts.append(
            f"<text x='{left - 8}' y='{y + 15}' font-size='12' text-anchor='end' fill='{INK}'><title>{_e(l['tensor'])}</title>{_e(label)} "
            f"<tspan fill='{MUTED}'>{_e(l['op'])}</tspan></text>"
            f"<rect x='{left}' y='{y + 3}' width='{max(full, 1):.1f}' height='{row - 10}' rx='3' fill='{PALETTE[0]}'/>"
            f"<rect x='{left + full - zeros:.1f}' y='{y + 3}' width='{zeros:.1f}' height='{row - 10}' rx='3' fill='{PALETTE[2]}'/>"
            f"<text x='{left + full + 6:.1f}' y='{y + 15}' font-size='12' fill='{INK}'>{l['bytes'] / 1024:.1f} KB · "
            f"{l['sparsity'] * 100:.0f}% zeros</text>")
    legend_y = h - 10
    parts.append(f"<rect x='{left}' y='{legend_y - 9}' width='12' height='10' fill='{PALETTE[0]}'/>"
                 f"<text x='{left + 16}' y='{legend_y}' font-size='12' fill='{MUTED}'>non-zero weights</text>"
                 f"<rect x='{left + 140}' y='{legend_y - 9}' width='12' height='10' fill='{PALETTE[2]}'/>"
                 f"<text x='{left + 156}' y='{legend_y}' font-size='12' fill='{MUTED}'>zeros (pruned)</text>")
    return _svg(w, h, parts)


def _edgetpu(report: dict) -> str:
    head = (f"<p><b>{report['tpu_ops']}</b> of {report['tpu_ops'] + report['cpu_ops']} ops map to the Edge TPU"
            + ("" if report["compatible"] else " — <span class='bad'>not fully compatible</span>") + ".</p>")
    issues = "".join(f"<li>{_e(i)}</li>" for i in report["model_issues"])
    rows = "".join(f"<tr><td class='num'>{o['index']}</td><td><code>{_e(o['op'])}</code></td>"
                   f"<td class='{'ok' if o['on_tpu'] else 'bad'}'>{'Edge TPU' if o['on_tpu'] else 'CPU'}</td>"
                   f"<td class='note'>{_e(o['status'])}</td></tr>" for o in report["ops"])
    return (head + (f"<ul>{issues}</ul>" if issues else "")
            + f"<table><tr><th>#</th><th>op</th><th>runs on</th><th>status</th></tr>{rows}</table>"
            + f"<div class='note'>{_e(report['compiler_note'])}</div>")


# --- drawing helpers ---------------------------------------------------------------------

def _svg(w: int, h: int, parts: list[str]) -> str:
    return (f"<svg viewBox='0 0 {w} {h}' width='100%' role='img' xmlns='http://www.w3.org/2000/svg'>"
            + "".join(parts) + "</svg>")


def _axes(w, h, left, bottom, top, right, xticks, yticks, xlabel, ylabel) -> list[str]:
    parts = [f"<line x1='{left}' y1='{h - bottom}' x2='{w - right}' y2='{h - bottom}' stroke='{MUTED}'/>"]
    for x, label in xticks:
        parts.append(f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{top}' y2='{h - bottom}' stroke='{GRID}'/>"
                     f"<text x='{x:.1f}' y='{h - bottom + 16}' font-size='11' text-anchor='middle' fill='{MUTED}'>{label}</text>")
    for y, label in yticks:
        parts.append(f"<line x1='{left}' x2='{w - right}' y1='{y:.1f}' y2='{y:.1f}' stroke='{GRID}'/>"
                     f"<text x='{left - 6}' y='{y + 4:.1f}' font-size='11' text-anchor='end' fill='{MUTED}'>{label}</text>")
    parts.append(f"<text x='{(left + w - right) / 2:.1f}' y='{h - 6}' font-size='12' text-anchor='middle' fill='{INK}'>{xlabel}</text>")
    if ylabel:
        parts.append(f"<text transform='translate(14 {(top + h - bottom) / 2:.1f}) rotate(-90)' font-size='12' "
                     f"text-anchor='middle' fill='{INK}'>{ylabel}</text>")
    return parts


def _quality_of(entry: dict) -> str:
    value = entry["value"]
    return f"{value:.4g}" if entry.get("metric") == "mae" else f"{value * 100:.2f}%"


def _signed(value: float, unit: str) -> str:
    return f"{value:+.2f}{unit}" if abs(value) >= 0.005 else f"{value:+.2g}{unit}"


def _ms(value) -> str:
    return "—" if value is None else f"{value:.3g} ms"


def _short(where: str) -> str:
    return where.split(",")[0]


def _e(text) -> str:
    return html.escape(str(text), quote=True)
