"""Reports: the typed report built from a run's scores, ``report.json``/``.tsv``/``.md`` and a rich table.

All scores are fractions in [0, 1]; retention = student F1 / teacher F1.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from xtremedistil_ner import __version__
from xtremedistil_ner.atomic_files import write_json, write_text
from xtremedistil_ner.config import RunConfig
from xtremedistil_ner.data.corpus import Corpus
from xtremedistil_ner.data.records import Sentence
from xtremedistil_ner.data.tags import TagVocab
from xtremedistil_ner.evaluate import LanguageScores, macro_f1
from xtremedistil_ner.languages import language_name
from xtremedistil_ner.results import (
    Caps,
    EvalInfo,
    LanguageResult,
    Macro,
    Params,
    Report,
    SentenceCounts,
    StageResult,
    TeacherInfo,
    ZeroShotMacro,
    peak_note,
    step_rows,
)
from xtremedistil_ner.wording import plural

# bert-base-multilingual-cased as a BertModel with its pooler (the "177.9M" everyone quotes). `xdner bench speed`
# counts the token classifier it builds instead (no pooler, 7-tag head), so its ratios differ slightly from the
# reports' (docs/RESULTS.md, "Measurements behind code choices").
MBERT_BASE_PARAMS = 177_853_440


def _retention(student: float, teacher: float) -> float | None:
    return student / teacher if teacher > 0 else None


def build_report(
    cfg: RunConfig,
    langs: tuple[str, ...],
    corpus: Corpus,
    teacher: dict[str, LanguageScores],
    student: dict[str, LanguageScores],
    params: dict[str, int],
    stages: list[StageResult],
    timings: dict[str, float],
    throughput: dict[str, Any] | None = None,
    processes: int = 1,
    gold_only: dict[str, LanguageScores] | None = None,
    teacher_info: TeacherInfo | None = None,
    gold_only_stages: list[StageResult] | None = None,
) -> Report:
    """Assemble the run's report (``Report.to_json`` is the schema of ``report.json``).

    ``gold_only`` (the same-size student trained on the gold labels alone) adds per language ``gold_only`` and
    ``gain_over_gold`` (student F1 - gold-only F1), and the same two figures to the macro average.
    """
    languages: dict[str, LanguageResult] = {}
    for code in langs:
        if code not in corpus.languages or code not in teacher:
            languages[code] = LanguageResult("no data", language_name(code))
            continue
        data = corpus.languages[code]
        t, s = teacher[code], student[code]
        g = gold_only.get(code) if gold_only is not None else None
        languages[code] = LanguageResult(
            status="ok",
            name=language_name(code),
            teacher=t,
            student=s,
            retention=_retention(s.overall.f1, t.overall.f1),
            zero_shot=data.zero_shot,
            types=_gold_types(data.train + data.dev + data.test),
            gold_only=g,
            gain_over_gold=s.overall.f1 - g.overall.f1 if g is not None else None,
            sentences=SentenceCounts(
                train_used=len(data.train),
                train_full=data.full_sizes.get("train", 0),
                transfer=len(data.transfer),
                dev_used=len(data.dev),
                test_used=len(data.test),
                test_full=data.full_sizes.get("test", 0),
            ),
        )
    scored = [code for code, lang in languages.items() if lang.ok]
    macro_t, macro_s = _macro(teacher, scored), _macro(student, scored)
    shots = [code for code in scored if corpus.languages[code].zero_shot]
    macro_g = _macro(gold_only, scored) if gold_only is not None else None
    macro = Macro(
        languages_scored=len(scored),
        teacher_f1=macro_t,
        student_f1=macro_s,
        retention=_retention(macro_s, macro_t),
        gold_only_f1=macro_g,
        gain_over_gold=macro_s - macro_g if macro_g is not None else None,
        # languages learned from raw text only, also averaged on their own
        zero_shot=ZeroShotMacro(len(shots), _macro(teacher, shots), _macro(student, shots)) if shots else None,
    )
    d = cfg.data
    return Report(
        xdner_version=__version__,
        name=cfg.name,
        seed=cfg.seed,
        processes=processes,
        eval=EvalInfo(mode=cfg.eval.mode),
        caps=Caps(d.max_train_per_lang, d.max_transfer_per_lang, d.max_dev_per_lang, d.max_test_per_lang),
        entity_types=_gold_types(s for d in corpus.languages.values() for s in d.train + d.dev + d.test),
        languages=languages,
        macro=macro,
        teacher=teacher_info,
        params=Params(
            teacher=params["teacher"],
            student=params["student"],
            mbert_base=MBERT_BASE_PARAMS,
            student_compression_vs_mbert_base=MBERT_BASE_PARAMS / max(params["student"], 1),
            student_compression_vs_teacher=params["teacher"] / max(params["student"], 1),
        ),
        stages=list(stages),
        gold_only_stages=list(gold_only_stages or []),
        timings_seconds=dict(timings),
        throughput=throughput or {},
    )


def _gold_types(sentences: Iterable[Sentence]) -> tuple[str, ...]:
    """Entity types in the gold tags, in tag-set order (PER, ORG, LOC first, then sorted)."""
    return TagVocab.from_tags(t for sentence in sentences for t in sentence.tags or ()).types


def entity_types_line(report: Report) -> str:
    """``PER, ORG, LOC``, plus the languages whose gold lacks some of them (label sets that differ)."""
    every = list(report.entity_types)
    lacking = [
        f"{code} has no {'/'.join(t for t in every if t not in lang.types)}"
        for code, lang in report.scored().items()
        if lang.types and set(every) - set(lang.types)
    ]
    return ", ".join(every) + (f" ({'; '.join(lacking)})" if lacking else "")


def _macro(scores: dict[str, LanguageScores], codes: list[str]) -> float:
    """Macro F1 of ``scores`` over ``codes`` (in that order)."""
    return macro_f1({code: scores[code] for code in codes})


def _macro_row(macro: Macro, status: str, blank: str) -> list[str]:
    """The macro line of the per-language table (columns of :data:`HEADER`; ``blank`` where none applies)."""
    return [
        "macro",
        status,
        blank,
        blank,
        _pct(macro.teacher_f1),
        blank,
        blank,
        _pct(macro.student_f1),
        blank,
        _pct(macro.retention),
        _pct(macro.gold_only_f1),
        _signed(macro.gain_over_gold),
    ]


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}"


def rows(report: Report) -> list[list[str]]:
    """One row per language: code, status, teacher P/R/F1, student P/R/F1, support, retention, gold-only F1, gain.

    The last two are ``-`` when the run trained no gold-only baseline.
    """
    out = []
    for code, lang in report.languages.items():
        if not lang.ok or lang.teacher is None or lang.student is None:
            out.append([code, lang.status, *["-"] * (len(HEADER) - 2)])
            continue
        t, s = lang.teacher.overall, lang.student.overall
        out.append(
            [
                code,
                "zero-shot" if lang.zero_shot else "ok",
                _pct(t.precision),
                _pct(t.recall),
                _pct(t.f1),
                _pct(s.precision),
                _pct(s.recall),
                _pct(s.f1),
                str(s.support),
                _pct(lang.retention),
                _pct(lang.gold_only.overall.f1) if lang.gold_only else "-",
                _signed(lang.gain_over_gold),
            ]
        )
    return out


def _signed(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:+.2f}"


HEADER = [
    "lang",
    "status",
    "teacher_p",
    "teacher_r",
    "teacher_f1",
    "student_p",
    "student_r",
    "student_f1",
    "support",
    "retention",
    "gold_only_f1",
    "gain_over_gold",
]


def to_tsv(report: Report) -> str:
    """Per-language TSV (percentages) plus a macro row."""
    lines = ["\t".join(HEADER)] + ["\t".join(r) for r in rows(report)]
    lines.append("\t".join(_macro_row(report.macro, "ok", "-")))
    return "\n".join(lines) + "\n"


def _gold_sentence(macro: Macro) -> str:
    text = ""
    if macro.gold_only_f1 is not None:
        text += (
            f" Student of the same size on the gold labels alone: {_pct(macro.gold_only_f1)}; distillation "
            f"adds {_signed(macro.gain_over_gold)} F1."
        )
    if macro.zero_shot is not None:
        z = macro.zero_shot
        text += (
            f" Over the {z.languages} zero-shot languages (raw text only, no gold): teacher "
            f"{_pct(z.teacher_f1)}, student {_pct(z.student_f1)}."
        )
    return text


def _teacher_lines(info: TeacherInfo | None) -> list[str]:
    return [] if info is None else [f"**Teacher**: `{info.model}` ({info.origin}); {info.details()}.", ""]


def choice_reason(stage: StageResult) -> str:
    """Why a stage kept the checkpoint it kept, from its dev curve (``[(step, value), ...]``, step 0 = start)."""
    curve = stage.dev_curve
    word = "lowest" if stage.lower_is_better else "highest"
    points = ", ".join(f"{value:.4f}@{step}" for step, value in curve)
    if stage.best_step == 0 and any(step == 0 for step, _ in curve):
        return f"no dev point beat the stage's start ({points}): the stage changed nothing"
    return f"{word} {stage.metric} of {len(curve)} dev points ({points})"


PAPER_CAVEAT = (
    "Paper: XtremeDistil (ACL 2020), Appendix Table 17, integers as printed; their F1 is on wordpiece sequences "
    "cut at 32 pieces, ours word-level (seqeval) on whole sentences: compare with care."
)
PAPER_COLUMNS = (
    ("mbert_teacher", "paper mBERT teacher"),
    ("student", "paper student"),
    ("mbert_single", "paper mBERT single"),
)


def paper_lines(report: Report, paper: dict[str, dict[str, float]]) -> list[str]:
    """A Markdown section with the paper's per-language F1 beside ours, and both macros over the shared languages.

    ``paper`` is :func:`read_paper`'s ``{lang: {column: fraction}}``; no section when no scored language is in it.
    """
    ok = report.scored()
    langs = [c for c in sorted(ok) if c in paper]
    if not langs:
        return []
    ours: list[tuple[str, Any]] = [
        ("teacher", lambda r: r.teacher.overall.f1),
        ("student", lambda r: r.student.overall.f1),
    ]
    if report.has_gold_only:
        ours.append(("gold-only", lambda r: r.gold_only.overall.f1 if r.gold_only else None))
    cols = [(key, name) for key, name in PAPER_COLUMNS if any(key in paper[c] for c in langs)]
    head = ["lang", *[name for name, _ in ours], *[name for _, name in cols]]
    table = [[c, *[_pct(get(ok[c])) for _, get in ours], *[_pct(paper[c].get(k)) for k, _ in cols]] for c in langs]

    def mean(values: list[float | None]) -> float | None:
        real = [v for v in values if v is not None]
        return sum(real) / len(real) if len(real) == len(values) else None

    table.append(
        [f"macro ({len(langs)})"]
        + [_pct(mean([get(ok[c]) for c in langs])) for _, get in ours]
        + [_pct(mean([paper[c].get(k) for c in langs])) for k, _ in cols]
    )
    return [
        "",
        "## Beside the paper",
        "",
        PAPER_CAVEAT,
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
        *["| " + " | ".join(row) + " |" for row in table],
    ]


def to_markdown(report: Report, paper: dict[str, dict[str, float]] | None = None) -> str:
    """A Markdown summary: settings, macro scores, parameters, per-language table, stages, timings.

    ``paper`` (:func:`read_paper`) adds a section with the paper's per-language figures beside ours.
    """
    m, p = report.macro, report.params
    lines = [
        f"# xdner report: {report.name}",
        "",
        f"Word-level entity scores on **test** (seqeval, mode `{report.eval.mode}`, scheme IOB2); "
        f"checkpoints chosen on dev. Seed {report.seed}. Caps per language: {dataclasses.asdict(report.caps)}.",
        "",
        f"**Macro F1 over {plural(m.languages_scored, 'language')}**: teacher {_pct(m.teacher_f1)}, "
        f"student {_pct(m.student_f1)}, retention {_pct(m.retention)}%." + _gold_sentence(m),
        "",
        *_teacher_lines(report.teacher),
        *([f"**Entity types** (IOB2): {entity_types_line(report)}.", ""] if report.entity_types else []),
        f"**Parameters**: teacher {p.teacher:,}, student {p.student:,} "
        f"({p.student_compression_vs_mbert_base:.1f}x fewer than mBERT-base's {p.mbert_base:,}; "
        f"{p.student_compression_vs_teacher:.1f}x fewer than this teacher).",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows(report)]
    lines += paper_lines(report, paper or {})
    lines += [
        "",
        "## Stages (best checkpoint chosen on dev)",
        "",
        "| stage | trainable | steps | metric | best | at step | words/s | why this checkpoint |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for who, s in report.labelled_stages():
        lines.append(
            f"| {who}{s.name} | {', '.join(s.trainable)} | {s.steps} | {s.metric} | {s.best_metric:.4f} | "
            f"{s.best_step} | {s.words_per_second:,.0f} | {choice_reason(s)} |"
        )
    lines += ["", "## Time and memory per step", "", "| step | seconds | peak RSS MiB |", "|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in step_rows(report)]
    note = peak_note(report)
    if note:
        lines += ["", note]
    label = report.throughput.get("teacher_label", {})
    if label.get("sentences"):
        lines += [
            "",
            f"**Teacher labeling**: {label['sentences']:,} transfer sentences at "
            f"{label['sentences_per_second']:,.1f}/s; padding waste {100 * label['padding_waste']:.1f}% of the "
            "pieces fed to the teacher.",
        ]
    return "\n".join(lines) + "\n"


def write_reports(report: Report, out: Path, paper: Path | None = None) -> None:
    """Write ``report.json``, ``report.tsv``, ``report.md`` and ``report.html`` into ``out`` (atomically)."""
    write_json(out / "report.json", report.to_json())
    write_text(out / "report.tsv", to_tsv(report))
    write_text(out / "report.md", to_markdown(report, read_paper(paper) if paper else None))
    write_html(out, paper, report=report)


def read_paper(path: Path) -> dict[str, dict[str, float]]:
    """``PAPER_RESULTS.tsv`` -> {lang: {column: value / 100}} (comment lines start with #)."""
    if not path.is_file():
        return {}
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    out: dict[str, dict[str, float]] = {}
    for row in csv.DictReader(lines, delimiter="\t"):
        out[row["lang"]] = {k: float(v) / 100 for k, v in row.items() if k not in ("lang", "train_k") and v}
    return out


def _read_json(path: Path | None) -> dict[str, Any] | None:
    """A JSON file's content, None when there is no such file.

    Raises:
        XdnerError: the file is not readable JSON.
    """
    from xtremedistil_ner.errors import XdnerError

    if path is None or not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise XdnerError(f"{path}: not readable JSON ({exc})") from None


def read_report(run: Path) -> Report:
    """``RUN/report.json`` of a run directory, as typed data.

    Raises:
        XdnerError: missing, unreadable, or not a report.
    """
    from xtremedistil_ner.errors import XdnerError

    raw = _read_json(run / "report.json")
    if raw is None:
        raise XdnerError(f"{run}: no report.json (is this a run directory of xdner distill?)")
    try:
        return Report.from_json(raw)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise XdnerError(
            f"{run / 'report.json'}: not a report of xdner distill ({type(exc).__name__}: {exc})"
        ) from None


def write_html(run: Path, paper: Path | None = None, speed: Path | None = None, report: Report | None = None) -> Path:
    """(Re)write ``RUN/report.html`` from the report, ``RUN/config.json`` and optional extras.

    ``report`` is read from ``RUN/report.json`` unless the caller already holds it.

    Raises:
        XdnerError: ``RUN/report.json`` is missing, or a JSON file is unreadable.
    """
    from xtremedistil_ner.html_report import to_html

    report = report or read_report(run)
    html = to_html(report, read_paper(paper) if paper else None, _read_json(run / "config.json"), _read_json(speed))
    write_text(run / "report.html", html)
    return run / "report.html"


def macro_line(report: Report) -> str:
    """The closing line of ``xdner distill``: macro F1 of teacher, student (and gold-only), retention, size."""
    m, par = report.macro, report.params
    gold = f"gold-only student {100 * m.gold_only_f1:.2f}  " if m.gold_only_f1 is not None else ""
    return (
        f"macro F1: teacher {100 * m.teacher_f1:.2f}  student {100 * m.student_f1:.2f}  "
        f"retention {100 * (m.retention or 0):.1f}%  {gold}student params {par.student:,} "
        f"({par.student_compression_vs_mbert_base:.1f}x fewer than mBERT-base)"
    )


def render_table(report: Report) -> Any:
    """A rich Table view of the same rows."""
    from rich.table import Table

    table = Table(title=f"xdner: {report.name} (test, seqeval {report.eval.mode})")
    for h in HEADER:
        table.add_column(h, justify="left" if h in ("lang", "status") else "right")
    for r in rows(report):
        table.add_row(*r, style="dim" if r[1] not in ("ok", "zero-shot") else None)
    m = report.macro
    table.add_row(*_macro_row(m, f"{m.languages_scored} scored", ""), style="bold")
    return table
