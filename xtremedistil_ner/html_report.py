"""``report.html``: one self-contained page (inline CSS and SVG, no script, nothing fetched) from ``report.json``.

Sections: headline figures, a per-language chart of teacher vs student F1 (with the paper's figures when a
``PAPER_RESULTS.tsv``-style file is given), retention per language sorted worst first, per-type F1, the
learning curve of each stage (dev metric and training loss), latency ratios when a ``speed.json`` from
``xdner bench speed`` is given, and the recipe.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from xtremedistil_ner.evaluate import LanguageScores
from xtremedistil_ner.results import Macro, Report, TeacherInfo, peak_note, step_rows

COLORS = {
    "teacher": "#4c72b0",
    "student": "#dd8452",
    "gold-only student": "#8c8c8c",
    "paper teacher": "#9fb4d9",
    "paper student": "#f2bf9b",
}
CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1180px;color:#222;padding:0 16px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:right}
td:first-child,th:first-child{text-align:left}.big{font-size:20px;font-weight:600}
.cards{display:flex;gap:18px;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:6px;padding:8px 14px}
.curves{display:flex;flex-wrap:wrap;gap:10px}.note{color:#666;font-size:12px}
pre{background:#f6f6f6;padding:8px;overflow:auto;font-size:12px}svg text{font:11px system-ui,sans-serif}
"""


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def _signed(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:+.1f}"


def _gold_card(macro: Macro) -> list[str]:
    if macro.gold_only_f1 is None:
        return []
    return [
        f'<div class="card">gold-only student<div class="big">{_pct(macro.gold_only_f1)}</div>'
        f"distillation adds {_signed(macro.gain_over_gold)} F1</div>"
    ]


def _teacher_note(info: TeacherInfo | None) -> list[str]:
    if info is None:
        return []
    return [f"<p>Teacher: <b>{escape(info.model)}</b> ({escape(info.origin)}); {escape(info.details())}.</p>"]


def _type_f1(scores: LanguageScores | None, entity_type: str) -> float | None:
    found = scores.per_type.get(entity_type) if scores else None
    return found.f1 if found else None


def _per_type(scores: LanguageScores | None) -> list[str]:
    return list(scores.per_type) if scores else []


def _support(scores: LanguageScores | None) -> int:
    return scores.overall.support if scores else 0


def _f1(scores: LanguageScores | None) -> float | None:
    return scores.overall.f1 if scores else None


def bar_chart(labels: list[str], series: list[tuple[str, list[float | None]]], height: int = 260) -> str:
    """Grouped vertical bars, values in [0, 1] (``None``: no bar); one group per label, legend on top."""
    group = max(len(series) * 7 + 8, 22)
    left, top, bottom = 36, 24, 34
    width = max(left + group * len(labels) + 10, 140 * len(series) + left)
    plot = height - top - bottom
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'style="width:100%;max-width:{width}px;height:auto">'
    ]
    for tick in range(0, 101, 20):
        y = top + plot * (1 - tick / 100)
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>')
    for i, label in enumerate(labels):
        x0 = left + i * group + 4
        for j, (name, values) in enumerate(series):
            value = values[i]
            if value is None:
                continue
            h = plot * max(0.0, min(1.0, value))
            parts.append(
                f'<rect x="{x0 + j * 7}" y="{top + plot - h:.1f}" width="6" height="{h:.1f}" '
                f'fill="{COLORS.get(name, "#888")}"><title>{escape(label)} {escape(name)}: {100 * value:.1f}'
                "</title></rect>"
            )
        parts.append(
            f'<text x="{x0 + len(series) * 3.5:.1f}" y="{height - bottom + 14}" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    for j, (name, _) in enumerate(series):
        parts.append(f'<rect x="{left + j * 120}" y="4" width="10" height="10" fill="{COLORS.get(name, "#888")}"/>')
        parts.append(f'<text x="{left + j * 120 + 14}" y="13">{escape(name)} F1</text>')
    parts.append("</svg>")
    return "".join(parts)


def line_chart(title: str, lines: list[tuple[str, str, list[tuple[float, float]]]], width: int = 270) -> str:
    """Small line plot; each line ``(name, color, [(step, value), ...])`` gets its own y-scale (min..max)."""
    height, pad = 170, 26
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
        f'<text x="4" y="12">{escape(title)}</text>',
    ]
    steps = [s for _, _, pts in lines for s, _ in pts]
    x_max = max(steps) if steps else 1
    for k, (name, color, points) in enumerate(lines):
        if not points:
            continue
        values = [v for _, v in points]
        lo, hi = min(values), max(values)
        span = (hi - lo) or 1.0
        xy = [
            (pad + (width - 2 * pad) * (s / max(x_max, 1)), height - 42 - (height - 2 * pad - 30) * (v - lo) / span)
            for s, v in points
        ]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="1.8"/>')
        parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{color}"/>' for x, y in xy]
        parts.append(
            f'<text x="4" y="{height - 20 + 13 * k}" fill="{color}">{escape(name)}: {lo:.3g} to {hi:.3g}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def to_html(
    report: Report,
    paper: dict[str, dict[str, float]] | None = None,
    recipe: dict[str, Any] | None = None,
    speed: dict[str, Any] | None = None,
) -> str:
    """The whole page as a string.

    Args:
        report: the run's report (what ``report.json`` holds).
        paper: per language ``{"mbert_teacher": f1, "student": f1}`` (fractions), e.g. from PAPER_RESULTS.tsv.
        recipe: the run's ``config.json`` (shown as is).
        speed: ``speed.json`` of ``xdner bench speed`` (its ratio rows are shown).
    """
    paper = paper or {}
    m, p = report.macro, report.params
    ok = report.scored()
    langs = sorted(ok)
    html = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>xdner report: {escape(report.name)}</title><style>{CSS}</style></head><body>",
        f"<h1>xdner report: {escape(report.name)}</h1>",
        f"<p>Word-level entity F1 on <b>test</b> (seqeval {escape(report.eval.mode)}, IOB2); checkpoints "
        f"chosen on dev. Seed {report.seed}, {report.processes} process(es).</p>",
        '<div class="cards">',
        f'<div class="card">teacher macro F1<div class="big">{_pct(m.teacher_f1)}</div></div>',
        f'<div class="card">student macro F1<div class="big">{_pct(m.student_f1)}</div></div>',
        f'<div class="card">retention<div class="big">{_pct(m.retention)}%</div></div>',
        *_gold_card(m),
        f'<div class="card">student params<div class="big">{p.student:,}</div>'
        f"{p.student_compression_vs_mbert_base:.1f}x fewer than mBERT-base, "
        f"{p.student_compression_vs_teacher:.1f}x fewer than its teacher</div>",
        "</div>",
        *_teacher_note(report.teacher),
        "<h2>F1 per language</h2>",
    ]
    series: list[tuple[str, list[float | None]]] = [
        ("teacher", [_f1(ok[c].teacher) for c in langs]),
        ("student", [_f1(ok[c].student) for c in langs]),
    ]
    gold = report.has_gold_only
    if gold:
        series.append(("gold-only student", [_f1(ok[c].gold_only) for c in langs]))
    if any(c in paper for c in langs):
        series.append(("paper teacher", [paper.get(c, {}).get("mbert_teacher") for c in langs]))
        series.append(("paper student", [paper.get(c, {}).get("student") for c in langs]))
        html.append(
            '<p class="note">Paper: XtremeDistil (ACL 2020), mBERT teacher and its best student; their F1 '
            "is on wordpiece sequences cut at 32 pieces, ours word-level on whole sentences.</p>"
        )
    html.append(bar_chart(langs, series))
    worst_first = sorted(langs, key=lambda c: ok[c].retention or 0.0)
    html.append("<h2>Retention per language, worst first</h2>")
    html.append(
        _table(
            ["lang", "teacher F1", "student F1", "retention %", "support"]
            + (["gold-only F1", "gain over gold"] if gold else []),
            [
                [
                    c + (" (zero-shot)" if ok[c].zero_shot else ""),
                    _pct(_f1(ok[c].teacher)),
                    _pct(_f1(ok[c].student)),
                    _pct(ok[c].retention),
                    str(_support(ok[c].student)),
                ]
                + ([_pct(_f1(ok[c].gold_only)), _signed(ok[c].gain_over_gold)] if gold else [])
                for c in worst_first
            ],
        )
    )
    types = sorted({t for c in langs for t in _per_type(ok[c].student)})
    html.append("<h2>F1 per entity type (teacher / student)</h2>")
    html.append(
        _table(
            ["lang", *types],
            [
                [
                    c,
                    *(f"{_pct(_type_f1(ok[c].teacher, t))} / {_pct(_type_f1(ok[c].student, t))}" for t in types),
                ]
                for c in langs
            ],
        )
    )
    html.append("<h2>Learning curves (dev metric, training loss) per stage</h2><div class=curves>")
    for who, stage in report.labelled_stages():
        dev = [(float(s), float(v)) for s, v in stage.dev_curve]
        loss = [(float(s), float(v)) for s, v in stage.train_loss]
        html.append(
            line_chart(
                f"{who}{stage.name} (best at {stage.best_step})",
                [(stage.metric, "#2a7", dev), ("train loss", "#c44", loss)],
            )
        )
    html.append("</div>")
    if speed and speed.get("models"):
        html.append(f"<h2>Latency ({escape(str(speed.get('workload', {}).get('batch', 'batch')))}; medians)</h2>")
        base = next((r for r in speed["models"] if r["name"].startswith("mBERT-base")), None)
        rows = []
        for r in speed["models"]:
            lat = r["latency_ms"]
            cells = []
            for label in ("batch", "single"):
                for own in (f"{label}/end_to_end", f"{label}/end_to_end_warm"):
                    ms = lat.get(own)  # teachers have no warm (word cache) figure
                    ratio = f" ({base['latency_ms'][f'{label}/end_to_end'] / ms:.0f}x)" if base and ms else ""
                    cells.append(f"{ms:,.1f}{ratio}" if ms else "-")
            rows.append([escape(r["name"]), f"{r['params']:,}", *cells])
        html.append(
            _table(
                ["model", "params", "batch e2e ms", "batch e2e warm ms", "single e2e ms", "single e2e warm ms"],
                rows,
            )
        )
        html.append(
            "<p>e2e = raw text to entities; (Nx) = how many times faster than mBERT-base end to end; warm = the "
            "student's word cache kept across calls, as a server keeps it.</p>"
        )
    html.append("<h2>Time and memory per step</h2>")
    html.append(_table(["step", "seconds", "peak RSS MiB"], [[escape(c) for c in row] for row in step_rows(report)]))
    note = peak_note(report)
    if note:
        html.append(f"<p>{escape(note)}</p>")
    if recipe:
        html.append(f"<h2>Recipe</h2><pre>{escape(json.dumps(recipe, indent=1))}</pre>")
    html.append("</body></html>")
    return "\n".join(html) + "\n"
