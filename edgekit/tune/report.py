"""``report.html`` of a study: accuracy against size for every trial, in one self-contained page.

Inline SVG and CSS, no script and nothing fetched from the network. A reader has to tell
from the page alone which dot is which recipe and why a trial lost, so: every dot carries
its trial number (the same number as the progress lines, tune.json and ``trials/NNNN``) and,
on hover, its recipe and outcome; the budget lines say which budget they are; ticks are
round numbers with units (:mod:`edgekit.ticks`); the Pareto front of the trials that met
every budget is a line through marked dots and the chosen trial is ringed. Filled dots met
every budget, hollow ones missed one; failed and pruned trials (no measurements) are
crosses under the axis. The table below lists every trial with its recipe, figures and
outcome, the missed budget and by how much included (:mod:`edgekit.tune.misses`).
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Any

from edgekit.pipeline.report import BAD, CSS, GRID, INK, MUTED, OK
from edgekit.ticks import linear_ticks, log_ticks, tick_label
from edgekit.tune.misses import outcome_text, percent, points

PARETO, CHOSEN, HALO = "#4c6ef5", "#f08c00", "#fff"
W, H, LEFT, RIGHT, TOP, BOTTOM = 1000, 420, 70, 30, 16, 84
STYLE = ("th{white-space:nowrap} #chosen{margin:0 0 10px} tr.chosen td{background:#fff4e6} "
         "tr.chosen td:first-child{box-shadow:inset 3px 0 #f08c00}"
         ".legend{display:flex;flex-wrap:wrap;gap:6px 18px;color:#495057;font-size:13px;margin:0 0 6px}"
         ".legend svg{vertical-align:-3px;margin-right:5px}")
# the size budget drawn on each size axis, and the words on its line
SIZE_BUDGET = {"gzip": "max_gzip_kb", "raw": "max_size_kb"}
LINE_NAMES = {"max_gzip_kb": "max gzip size", "max_size_kb": "max size"}


def render_report(doc: dict[str, Any]) -> str:
    """The HTML text for a tune.json document."""
    size = "gzip" if "gzip_kb" in doc["objectives"] else "raw"
    chosen = next((t for t in doc["trials"] if t["number"] == doc.get("chosen")), None)
    head = (f"<h1>edgekit tune: {doc['trials_done']}/{doc['trials_requested']} trials"
            f"<span class='badge' style='background:{OK if chosen else BAD}'>"
            f"{'a model meets every budget' if chosen else 'no model meets every budget'}</span></h1>"
            f"<div class='sub'>{_e(doc['config'])} · sampler {_e(doc['sampler'])} · seed {doc['seed']} · "
            f"{_e(doc['executor'])} executor · {doc['trials_failed']} failed · "
            f"{doc.get('trials_pruned', 0)} pruned ({_e(doc.get('pruner', 'none'))} pruner) · budgets: "
            f"{_e(', '.join(f'{k} {v:g}' for k, v in doc['budgets'].items()) or 'none')}</div>")
    chosen_text = (f"<p id='chosen'>Chosen: <b>trial {chosen['number']}</b>, {_e(chosen['recipe'])}: accuracy "
                   f"{chosen['result']['accuracy']:.2%}, {size} {_size(chosen['result'], size):.1f} KB</p>"
                   if chosen else f"<p id='chosen'>No trial met every budget.{_closest(doc)}</p>")
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>edgekit tune report</title>"
            f"<style>{CSS}{STYLE}</style></head><body><main>{head}"
            f"<div class='panel'><h2>Accuracy vs {size} size</h2>{chosen_text}{_legend()}{_scatter(doc, size)}"
            f"{_not_drawn(doc, size)}</div>"
            f"<div class='panel' style='margin-top:16px'><h2>Trials</h2>{_table(doc, size)}"
            "<p class='note'>Trials are numbered from 0 in the order they were started, as in the progress lines, "
            "tune.json and trials/NNNN.</p></div>"
            "</main></body></html>\n")


def _closest(doc: dict[str, Any]) -> str:
    near = next((t for t in doc["trials"] if t["number"] == doc.get("closest")), None)
    return f" Closest: <b>trial {near['number']}</b>, {_e(near['recipe'])}: {_e(outcome_text(near))}." if near else ""


def _size(result: dict, size: str) -> float:
    return (result["gzip_bytes"] if size == "gzip" else result["size_bytes"]) / 1024


@dataclass(frozen=True)
class Axes:
    """Data to pixels: size (KB) on a log scale across, accuracy (a fraction) up."""

    lo_x: float
    hi_x: float
    lo_y: float
    hi_y: float

    def x(self, kb: float) -> float:
        span = math.log10(self.hi_x) - math.log10(self.lo_x)
        return LEFT + (math.log10(max(kb, 1e-6)) - math.log10(self.lo_x)) / span * (W - LEFT - RIGHT)

    def y(self, accuracy: float) -> float:
        return TOP + (self.hi_y - accuracy) / (self.hi_y - self.lo_y) * (H - TOP - BOTTOM)


@dataclass(frozen=True)
class BudgetLine:
    name: str
    value: float        # where it is drawn: an accuracy (horizontal) or a size in KB (vertical)
    label: str


def _budget_lines(doc: dict[str, Any], size: str, baseline: float | None) -> list[BudgetLine]:
    budgets, lines = doc["budgets"], []
    if budgets.get("min_accuracy") is not None:
        lines.append(BudgetLine("min_accuracy", budgets["min_accuracy"],
                                f"min accuracy {percent(budgets['min_accuracy'])}"))
    if budgets.get("max_accuracy_drop") is not None and baseline is not None:
        drop = budgets["max_accuracy_drop"]
        lines.append(BudgetLine("max_accuracy_drop", baseline - drop,
                                f"max drop {points(drop)} from float {percent(baseline)}"))
    name = SIZE_BUDGET[size]
    if budgets.get(name):
        lines.append(BudgetLine(name, budgets[name], f"{LINE_NAMES[name]} {tick_label(budgets[name], ' KB')}"))
    return lines


def _axes(done: list[dict], lines: list[BudgetLine], baseline: float | None, size: str) -> Axes:
    """Round bounds around every dot, budget line and the float model's accuracy."""
    xs = [_size(t["result"], size) for t in done] + [line.value for line in lines if line.name == SIZE_BUDGET[size]]
    ys = [t["result"]["accuracy"] for t in done] + [line.value for line in lines if line.name != SIZE_BUDGET[size]]
    ys += [baseline] if baseline is not None else []
    lo_x, hi_x = (min(xs) / 1.3, max(xs) * 1.3) if xs else (1.0, 100.0)
    lo_y, hi_y = (min(ys), max(ys)) if ys else (0.0, 1.0)
    pad = max(hi_y - lo_y, 0.02) * 0.08
    return Axes(max(lo_x, 1e-3), max(hi_x, 2e-3), max(lo_y - pad, 0.0), min(hi_y + pad, 1.0))


def _scatter(doc: dict[str, Any], size: str) -> str:
    done = [t for t in doc["trials"] if t["state"] == "COMPLETE" and t["result"]]
    baseline = next((t["result"]["baseline_accuracy"] for t in done if t["result"].get("baseline_accuracy")), None)
    lines = _budget_lines(doc, size, baseline)
    axes = _axes(done, lines, baseline, size)
    crosses = _crosses(doc)
    height = H if crosses else H - BOTTOM + 50     # the row of crosses only when there are some
    parts = [f"<svg id='scatter' xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {W} {height}' width='100%' "
             f"role='img'><rect x='{LEFT}' y='{TOP}' width='{W - LEFT - RIGHT}' height='{H - TOP - BOTTOM}' "
             f"fill='#fff' stroke='{GRID}'/>", *(_tint(line, axes, size) for line in lines), *_grid(axes, size)]
    if baseline is not None:
        parts.append(_hline("class='baseline'", axes.y(baseline), f"float model {percent(baseline)}", MUTED, "2 3",
                            left=True))
    for line in lines:
        if line.name == SIZE_BUDGET[size]:
            parts.append(_vline(line, axes.x(line.value)))
        else:
            attrs = f"class='budget' data-budget='{line.name}'"
            parts.append(_hline(attrs, axes.y(line.value), line.label, BAD, "6 4"))
    centres = [(axes.x(_size(t["result"], size)), axes.y(t["result"]["accuracy"])) for t in done]
    front = sorted(c for t, c in zip(done, centres) if t["number"] in doc["pareto"])
    if len(front) > 1:
        xy = " ".join(f"{x:.1f},{y:.1f}" for x, y in front)
        parts.append(f"<polyline class='pareto-front' points='{xy}' fill='none' stroke='{PARETO}' stroke-width='2'/>")
    names = [f"{t['number']} chosen" if t["number"] == doc.get("chosen") else str(t["number"]) for t in done]
    parts += [_dot(t, doc, size, centre, name, spot)
              for t, centre, name, spot in zip(done, centres, names, _place(centres, names, front))]
    parts += crosses
    parts.append("</svg>")
    return "".join(parts)


def _grid(axes: Axes, size: str) -> list[str]:
    parts = []
    for acc in linear_ticks(axes.lo_y * 100, axes.hi_y * 100, count=6):
        y = axes.y(acc / 100)
        parts.append(f"<line x1='{LEFT}' x2='{W - RIGHT}' y1='{y:.1f}' y2='{y:.1f}' stroke='{GRID}'/>"
                     f"<text class='tick' x='{LEFT - 8}' y='{y + 4:.1f}' font-size='12' text-anchor='end' "
                     f"fill='{MUTED}'>{tick_label(acc, '%')}</text>")
    for kb in log_ticks(axes.lo_x, axes.hi_x):
        x = axes.x(kb)
        parts.append(f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{TOP}' y2='{H - BOTTOM}' stroke='{GRID}'/>"
                     f"<text class='tick' x='{x:.1f}' y='{H - BOTTOM + 18}' font-size='12' text-anchor='middle' "
                     f"fill='{MUTED}'>{tick_label(kb, ' KB')}</text>")
    parts.append(f"<text x='{(W + LEFT - RIGHT) / 2}' y='{H - BOTTOM + 40}' font-size='13' text-anchor='middle' "
                 f"fill='{INK}'>{size} size of the .tflite (KB, log scale)</text>"
                 f"<text x='18' y='{(TOP + H - BOTTOM) / 2}' font-size='13' fill='{INK}' text-anchor='middle' "
                 f"transform='rotate(-90 18 {(TOP + H - BOTTOM) / 2})'>accuracy on the validation data</text>")
    return parts


def _tint(line: BudgetLine, axes: Axes, size: str) -> str:
    """The side of a budget line where trials miss it, faintly red: the white corner is where the models fit."""
    if line.name == SIZE_BUDGET[size]:
        x = min(max(axes.x(line.value), LEFT), W - RIGHT)
        box = (x, TOP, W - RIGHT - x, H - BOTTOM - TOP)
    else:
        y = min(max(axes.y(line.value), TOP), H - BOTTOM)
        box = (LEFT, y, W - RIGHT - LEFT, H - BOTTOM - y)
    return (f"<rect class='misses' x='{box[0]:.1f}' y='{box[1]:.1f}' width='{box[2]:.1f}' height='{box[3]:.1f}' "
            f"fill='{BAD}' fill-opacity='0.05'/>")


def _label(x: float, y: float, text: str, colour: str, anchor: str = "start", weight: str = "normal") -> str:
    """Text with a white halo, readable over grid lines and dots."""
    return (f"<text x='{x:.1f}' y='{y:.1f}' font-size='12' font-weight='{weight}' text-anchor='{anchor}' "
            f"fill='{colour}' stroke='{HALO}' stroke-width='3' paint-order='stroke'>{_e(text)}</text>")


def _hline(attrs: str, y: float, text: str, colour: str, dash: str, left: bool = False) -> str:
    """A horizontal line across the plot, its words above it at the right end (``left``: the left end)."""
    label = _label(LEFT + 6, y - 5, text, colour) if left else _label(W - RIGHT - 6, y - 5, text, colour, "end")
    return (f"<g {attrs}><title>{_e(text)}</title><line x1='{LEFT}' x2='{W - RIGHT}' y1='{y:.1f}' "
            f"y2='{y:.1f}' stroke='{colour}' stroke-width='1.5' stroke-dasharray='{dash}'/>{label}</g>")


def _vline(line: BudgetLine, x: float) -> str:
    return (f"<g class='budget' data-budget='{line.name}'><title>{_e(line.label)}</title><line x1='{x:.1f}' "
            f"x2='{x:.1f}' y1='{TOP}' y2='{H - BOTTOM}' stroke='{BAD}' stroke-width='1.5' stroke-dasharray='6 4'/>"
            f"{_label(x - 6, TOP + 14, line.label, BAD, 'end')}</g>")


Box = tuple[float, float, float, float]     # x0, y0, x1, y1


def _place(centres: list[tuple[float, float]], names: list[str], front: list[tuple[float, float]]
           ) -> list[tuple[float, float, str]]:
    """Where each dot's name goes (x, y, text-anchor): beside its dot, on the first side (right-up,
    right-down, left-up, left-down) where it covers no dot, no stretch of the Pareto line ``front``
    and no name placed before it."""
    rings = [13 if not name.isdigit() else 7 for name in names]     # the chosen dot's ring is wider
    dots: list[Box] = [(x - r, y - r, x + r, y + r) for (x, y), r in zip(centres, rings)]
    for (x0, y0), (x1, y1) in zip(front, front[1:]):  # the line as small boxes every few pixels
        steps = max(1, int(math.hypot(x1 - x0, y1 - y0) / 4))
        dots += [(x0 + (x1 - x0) * i / steps - 1, y0 + (y1 - y0) * i / steps - 1,
                  x0 + (x1 - x0) * i / steps + 1, y0 + (y1 - y0) * i / steps + 1) for i in range(steps + 1)]
    taken: list[Box] = []
    spots = []
    for (x, y), name in zip(centres, names):
        width, gap = 7 * len(name) + 2, 9 if name.isdigit() else 16
        sides = [(x + gap, y - 7, "start"), (x + gap, y + 15, "start"), (x - gap, y - 7, "end"),
                 (x - gap, y + 15, "end")]
        boxes = [(sx if anchor == "start" else sx - width, sy - 11, (sx + width) if anchor == "start" else sx, sy + 2)
                 for sx, sy, anchor in sides]
        free = [i for i, box in enumerate(boxes) if not any(_overlap(box, other) for other in dots + taken)]
        pick = free[0] if free else 0
        taken.append(boxes[pick])
        spots.append(sides[pick])
    return spots


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _dot(t: dict[str, Any], doc: dict[str, Any], size: str, centre: tuple[float, float], name: str,
         spot: tuple[float, float, str]) -> str:
    """One trial: a dot with its ``name`` at ``spot``; hover: its recipe, figures and outcome."""
    on_front, chosen = t["number"] in doc["pareto"], t["number"] == doc.get("chosen")
    cls = "trial" + (" pareto" if on_front else "") + (" feasible" if t["feasible"] else " infeasible") + \
        (" chosen" if chosen else "")
    colour = PARETO if on_front else OK if t["feasible"] else MUTED
    x, y = centre
    title = (f"trial {t['number']}{' (chosen)' if chosen else ''}: {t['recipe']}\naccuracy "
             f"{t['result']['accuracy']:.2%}, {size} {_size(t['result'], size):.1f} KB\n{outcome_text(t)}")
    ring = (f"<circle cx='{x:.1f}' cy='{y:.1f}' r='12' fill='none' stroke='{CHOSEN}' stroke-width='3'/>"
            if chosen else "")
    return (f"<g class='{cls}' data-trial='{t['number']}'><title>{_e(title)}</title>{ring}"
            f"<circle cx='{x:.1f}' cy='{y:.1f}' r='{7 if on_front else 5}' "
            f"fill='{colour if t['feasible'] else '#fff'}' stroke='{colour}' stroke-width='2'/>"
            f"{_label(spot[0], spot[1], name, CHOSEN if chosen else INK, spot[2], '600')}</g>")


def _crosses(doc: dict[str, Any]) -> list[str]:
    """Trials without measurements: a cross each under the axis, labelled with its number."""
    parts, x, y = [], LEFT + 10, H - 14
    for kind, colour in (("failed", BAD), ("pruned", MUTED)):
        trials = [t for t in doc["trials"] if t["state"] == ("FAIL" if kind == "failed" else "PRUNED")
                  and not t["stale"]]
        if not trials:
            continue
        parts.append(_label(x, y + 4, f"{kind}:", colour))
        x += 56
        for t in trials:
            parts.append(f"<g class='{kind}' data-trial='{t['number']}'><title>trial {t['number']}: "
                         f"{_e(t['recipe'])}\n{_e(outcome_text(t))}</title>{_cross(x, y, colour)}"
                         f"{_label(x + 8, y + 4, str(t['number']), colour)}</g>")
            x += 22 + 7 * len(str(t["number"]))
        x += 24
    return parts


def _cross(x: float, y: float, colour: str) -> str:
    return (f"<path d='M{x - 4},{y - 4}L{x + 4},{y + 4}M{x - 4},{y + 4}L{x + 4},{y - 4}' stroke='{colour}' "
            "stroke-width='2'/>")


def _legend() -> str:
    def item(mark: str, text: str) -> str:
        return f"<span><svg width='26' height='16' viewBox='0 0 26 16'>{mark}</svg>{text}</span>"

    return ("<div class='legend'>"
            + item(f"<circle cx='13' cy='8' r='5' fill='{OK}' stroke='{OK}' stroke-width='2'/>", "meets every budget")
            + item(f"<circle cx='13' cy='8' r='5' fill='#fff' stroke='{MUTED}' stroke-width='2'/>", "misses a budget")
            + item(f"<line x1='1' x2='25' y1='8' y2='8' stroke='{PARETO}' stroke-width='2'/><circle cx='13' cy='8' "
                   f"r='5' fill='{PARETO}'/>", "Pareto front")
            + item(f"<circle cx='13' cy='8' r='6' fill='none' stroke='{CHOSEN}' stroke-width='3'/>", "chosen")
            + item(f"<line x1='1' x2='25' y1='8' y2='8' stroke='{BAD}' stroke-width='1.5' stroke-dasharray='6 4'/>",
                   "budget")
            + item(_cross(13, 8, BAD), "failed / pruned")
            + "</div>")


def _not_drawn(doc: dict[str, Any], size: str) -> str:
    """The budgets the chart has no axis for (latency, the other size, ...): named, judged in the table."""
    drawn = {"min_accuracy", "max_accuracy_drop", SIZE_BUDGET[size]}
    rest = [f"{name} {value:g}" for name, value in doc["budgets"].items() if name not in drawn]
    return (f"<p class='note'>Budgets not on this chart (judged in the table): {_e(', '.join(rest))}</p>"
            if rest else "")


def _table(doc: dict[str, Any], size: str) -> str:
    rows = []
    for t in (t for t in doc["trials"] if t["state"] != "WAITING"):   # WAITING: queued, not started
        r = t["result"] or {}
        chosen, on_front = t["number"] == doc.get("chosen"), t["number"] in doc["pareto"]
        outcome = outcome_text(t)
        css = "ok" if t["feasible"] else "bad" if t["state"] in ("COMPLETE", "FAIL") and not t["stale"] else "muted"
        tags = ("<b style='color:#f08c00'>chosen</b> · " if chosen else "") + ("Pareto front · " if on_front else "")
        cells = [f"<td class='num'>{t['number']}</td>", f"<td>{_e(t['recipe'])}</td>",
                 _num(r.get("accuracy"), lambda v: f"{v:.2%}"), _num(r.get("size_bytes"), lambda v: f"{v / 1024:.1f}"),
                 _num(r.get("gzip_bytes"), lambda v: f"{v / 1024:.1f}"), _num(r.get("p50_ms"), lambda v: f"{v:.3g}"),
                 f"<td>{tags}<span class='{css}'>{_e(outcome)}</span></td>"]
        rows.append(f"<tr data-trial='{t['number']}'{' class=chosen' if chosen else ''}>{''.join(cells)}</tr>")
    return ("<table id='trials'><tr><th>trial</th><th>recipe</th><th>accuracy</th><th>size KB</th><th>gzip KB</th>"
            f"<th>p50 ms</th><th>outcome</th></tr>{''.join(rows)}</table>")


def _num(value: float | None, fmt) -> str:
    return f"<td class='num'>{fmt(value) if value is not None else '-'}</td>"


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


__all__ = ["render_report"]
