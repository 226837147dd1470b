"""``report.html`` of a study: accuracy against size for every trial, in one self-contained page.

Inline SVG and CSS, no script and nothing fetched from the network. Each completed trial
is a dot (filled: met every budget; hollow: missed one), the Pareto front of the trials
that met the budgets is drawn as a line through highlighted dots, the accuracy and size
budgets are dashed lines, and failed trials are red crosses under the axis (they have no
measurements), pruned trials (cut after a few epochs) grey ones. The table below lists every
trial with its recipe, and for a pruned one the epoch and accuracy it was cut at.
"""

from __future__ import annotations

import html
import math
from typing import Any

from edgekit.pipeline.report import BAD, CSS, GRID, INK, MUTED, OK
from edgekit.tune.study import pruned_text

PARETO = "#4c6ef5"
W, H, LEFT, RIGHT, TOP, BOTTOM = 760, 420, 64, 20, 20, 70


def render_report(doc: dict[str, Any]) -> str:
    """The HTML text for a tune.json document."""
    size = "gzip" if "gzip_kb" in doc["objectives"] else "raw"
    chosen = doc.get("chosen")
    best = next((t for t in doc["trials"] if t["number"] == chosen), None)
    head = (f"<h1>edgekit tune: {doc['trials_done']}/{doc['trials_requested']} trials"
            f"<span class='badge' style='background:{OK if best else BAD}'>"
            f"{'a model meets every budget' if best else 'no model meets every budget'}</span></h1>"
            f"<div class='sub'>{_e(doc['config'])} · sampler {_e(doc['sampler'])} · seed {doc['seed']} · "
            f"{_e(doc['executor'])} executor · {doc['trials_failed']} failed · "
            f"{doc.get('trials_pruned', 0)} pruned ({_e(doc.get('pruner', 'none'))} pruner) · budgets: "
            f"{_e(', '.join(f'{k} {v:g}' for k, v in doc['budgets'].items()) or 'none')}</div>")
    chosen_text = (f"<p id='chosen'>Chosen: trial {best['number']}, {_e(best['recipe'])}: accuracy "
                   f"{best['result']['accuracy']:.2%}, {size} {_size(best['result'], size):.1f} KB</p>"
                   if best else "<p id='chosen'>No trial met every budget.</p>")
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>edgekit tune report</title>"
            f"<style>{CSS}</style></head><body><main>{head}"
            f"<div class='panel'><h2>Accuracy vs {size} size</h2>{_scatter(doc, size)}{chosen_text}</div>"
            f"<div class='panel' style='margin-top:16px'><h2>Trials</h2>{_table(doc, size)}</div>"
            "</main></body></html>\n")


def _size(result: dict, size: str) -> float:
    return (result["gzip_bytes"] if size == "gzip" else result["size_bytes"]) / 1024


def _scatter(doc: dict[str, Any], size: str) -> str:
    done = [t for t in doc["trials"] if t["state"] == "COMPLETE" and t["result"]]
    failed = [t for t in doc["trials"] if t["state"] == "FAIL" and not t["stale"]]
    pruned = [t for t in doc["trials"] if t["state"] == "PRUNED"]
    budgets = doc["budgets"]
    size_budget = budgets.get("max_gzip_kb" if size == "gzip" else "max_size_kb")
    accuracy_budget = budgets.get("min_accuracy")
    xs = [_size(t["result"], size) for t in done] + ([size_budget] if size_budget else [])
    ys = [t["result"]["accuracy"] for t in done] + ([accuracy_budget] if accuracy_budget is not None else [])
    lo_x, hi_x = (min(xs), max(xs)) if xs else (1.0, 10.0)
    lo_x, hi_x = math.log10(max(lo_x, 1e-3)) - 0.05, math.log10(max(hi_x, 1e-3)) + 0.05
    lo_y, hi_y = (min(ys), max(ys)) if ys else (0.0, 1.0)
    lo_y, hi_y = lo_y - 0.02 * max(hi_y - lo_y, 0.05), hi_y + 0.02 * max(hi_y - lo_y, 0.05)

    def px(kb: float) -> float:
        return LEFT + (math.log10(max(kb, 1e-3)) - lo_x) / (hi_x - lo_x) * (W - LEFT - RIGHT)

    def py(acc: float) -> float:
        return TOP + (hi_y - acc) / (hi_y - lo_y) * (H - TOP - BOTTOM)

    parts = [f"<svg id='scatter' xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {W} {H}' width='{W}' height='{H}'>",
             f"<rect x='{LEFT}' y='{TOP}' width='{W - LEFT - RIGHT}' height='{H - TOP - BOTTOM}' fill='#fff' "
             f"stroke='{GRID}'/>"]
    for i in range(5):
        acc = lo_y + (hi_y - lo_y) * i / 4
        kb = 10 ** (lo_x + (hi_x - lo_x) * i / 4)
        parts.append(f"<text x='{LEFT - 6}' y='{py(acc) + 4:.1f}' font-size='11' text-anchor='end' fill='{MUTED}'>"
                     f"{acc:.1%}</text>")
        parts.append(f"<text x='{px(kb):.1f}' y='{H - BOTTOM + 16}' font-size='11' text-anchor='middle' "
                     f"fill='{MUTED}'>{kb:.3g}</text>")
    parts.append(f"<text x='{(W + LEFT) / 2}' y='{H - BOTTOM + 34}' font-size='12' text-anchor='middle' fill='{INK}'>"
                 f"{size} size, KB (log scale)</text>")
    parts.append(f"<text x='14' y='{(H - BOTTOM) / 2}' font-size='12' fill='{INK}' "
                 f"transform='rotate(-90 14 {(H - BOTTOM) / 2})' text-anchor='middle'>accuracy</text>")
    if accuracy_budget is not None:
        y = py(accuracy_budget)
        parts.append(f"<line class='budget' data-budget='min_accuracy' x1='{LEFT}' x2='{W - RIGHT}' y1='{y:.1f}' "
                     f"y2='{y:.1f}' stroke='{BAD}' stroke-dasharray='6 4'><title>min_accuracy "
                     f"{accuracy_budget:g}</title></line>")
    if size_budget:
        x = px(size_budget)
        name = "max_gzip_kb" if size == "gzip" else "max_size_kb"
        parts.append(f"<line class='budget' data-budget='{name}' x1='{x:.1f}' x2='{x:.1f}' y1='{TOP}' "
                     f"y2='{H - BOTTOM}' stroke='{BAD}' stroke-dasharray='6 4'><title>{name} {size_budget:g}"
                     "</title></line>")
    front = sorted((t for t in done if t["number"] in doc["pareto"]), key=lambda t: _size(t["result"], size))
    if len(front) > 1:
        points = " ".join(f"{px(_size(t['result'], size)):.1f},{py(t['result']['accuracy']):.1f}" for t in front)
        parts.append(f"<polyline class='pareto-front' points='{points}' fill='none' stroke='{PARETO}' "
                     "stroke-width='2'/>")
    for t in done:
        on_front = t["number"] in doc["pareto"]
        cls = "trial" + (" pareto" if on_front else "") + (" feasible" if t["feasible"] else " infeasible") + \
            (" chosen" if t["number"] == doc.get("chosen") else "")
        colour = PARETO if on_front else OK if t["feasible"] else MUTED
        fill = colour if t["feasible"] else "none"
        parts.append(f"<circle class='{cls}' data-trial='{t['number']}' cx='{px(_size(t['result'], size)):.1f}' "
                     f"cy='{py(t['result']['accuracy']):.1f}' r='{7 if on_front else 5}' fill='{fill}' "
                     f"stroke='{colour}' stroke-width='2'><title>trial {t['number']}: {_e(t['recipe'])}</title></circle>")
    x = LEFT + 10
    for kind, colour, trials in (("failed", BAD, failed), ("pruned", MUTED, pruned)):
        for t in trials:
            why = t["error"] if kind == "failed" else pruned_text(t["pruned"])
            parts.append(_cross(kind, colour, t["number"], why or "", x, H - BOTTOM + 50))
            x += 14
        if trials:
            parts.append(f"<text x='{x}' y='{H - BOTTOM + 54}' font-size='11' fill='{colour}'>"
                         f"{kind} trials ({len(trials)})</text>")
            x += 110
    parts.append("</svg>")
    return "".join(parts)


def _cross(kind: str, colour: str, number: int, why: str, x: float, y: float) -> str:
    """A trial without measurements: a cross under the axis, its reason as the tooltip."""
    return (f"<g class='{kind}' data-trial='{number}'><title>trial {number} {kind}: {_e(why)}</title>"
            f"<line x1='{x - 4}' y1='{y - 4}' x2='{x + 4}' y2='{y + 4}' stroke='{colour}' stroke-width='2'/>"
            f"<line x1='{x - 4}' y1='{y + 4}' x2='{x + 4}' y2='{y - 4}' stroke='{colour}' stroke-width='2'/></g>")


def _table(doc: dict[str, Any], size: str) -> str:
    rows = []
    for t in doc["trials"]:
        r = t["result"] or {}
        state = "stale (re-run)" if t["stale"] else t["state"].lower()
        verdict = ("<span class='ok'>meets budgets</span>" if t["feasible"] else
                   "<span class='bad'>misses a budget</span>" if t["state"] == "COMPLETE" else
                   f"<span style='color:{MUTED}'>{_e(pruned_text(t['pruned']))}</span>" if t["state"] == "PRUNED" else
                   f"<span class='bad'>{_e(t['error'] or '')}</span>")
        rows.append(f"<tr data-trial='{t['number']}'><td class='num'>{t['number']}</td><td>{_e(state)}</td>"
                    f"<td>{_e(t['recipe'])}</td>"
                    f"<td class='num'>{r['accuracy']:.2%}</td><td class='num'>{_size(r, size):.1f}</td>"
                    if r else f"<tr data-trial='{t['number']}'><td class='num'>{t['number']}</td><td>{_e(state)}</td>"
                    f"<td>{_e(t['recipe'])}</td><td class='num'>-</td><td class='num'>-</td>")
        rows[-1] += (f"<td class='num'>{r['p50_ms']:.3g}</td>" if r.get("p50_ms") is not None else
                     "<td class='num'>-</td>") + f"<td>{verdict}</td></tr>"
    return (f"<table id='trials'><tr><th>#</th><th>state</th><th>recipe</th><th>accuracy</th><th>{size} KB</th>"
            f"<th>p50 ms</th><th>budgets</th></tr>{''.join(rows)}</table>")


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


__all__ = ["render_report"]
