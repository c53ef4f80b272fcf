"""The run report as typed data: what ``report.json`` holds, written once and read back into the same types.

``Report.to_json`` gives the schema of ``report.json`` (keys that do not apply are left out, as they always
were: a language without data has only ``status`` and ``name``, a run without a gold-only baseline has no
``gold_only`` / ``gain_over_gold``); ``Report.from_json`` reads it back, also from reports written before a
field existed. ``xdner report``, the HTML page, the model card and the benches read these types, never keys.
All scores are fractions in [0, 1]; retention = student F1 / teacher F1.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from xtremedistil_ner.evaluate import LanguageScores


@dataclass
class StageResult:
    """What one distillation stage did: the dev curve, the chosen point and why.

    ``seconds`` is the stage's wall time, ``eval_seconds`` the part spent on dev evaluations, and
    ``words_per_second`` the training throughput (words over ``seconds - eval_seconds``). Curves are
    ``[(step, value), ...]``; step 0 is the stage's start.
    """

    name: str
    objective: str
    trainable: tuple[str, ...]
    steps: int
    words_per_second: float
    seconds: float
    dev_curve: list[tuple[int, float]] = field(default_factory=list)
    best_step: int = 0
    best_metric: float = 0.0
    metric: str = ""
    train_loss: list[tuple[int, float]] = field(default_factory=list)
    eval_seconds: float = 0.0
    stopped_early: bool = False  # the stage's patience ended it before its last planned step (``steps`` done)

    @property
    def lower_is_better(self) -> bool:
        """The stage's dev metric is an error (hidden-state MSE), not an F1."""
        return self.metric == "dev_hidden_mse"

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> StageResult:
        """Inverse of ``dataclasses.asdict`` (JSON turns tuples into lists)."""
        raw = dict(raw)
        raw["trainable"] = tuple(raw["trainable"])
        for key in ("dev_curve", "train_loss"):
            raw[key] = [(int(s), float(v)) for s, v in raw.get(key, [])]
        return cls(**raw)


@dataclass(frozen=True)
class SentenceCounts:
    """Sentences of one language: used after the recipe's caps, and in the whole split."""

    train_used: int
    train_full: int
    transfer: int
    dev_used: int
    test_used: int
    test_full: int


@dataclass(frozen=True)
class LanguageResult:
    """One language of a run. ``status`` is ``ok`` or ``no data`` (then only ``name`` is set)."""

    status: str
    name: str
    teacher: LanguageScores | None = None
    student: LanguageScores | None = None
    retention: float | None = None
    zero_shot: bool = False
    types: tuple[str, ...] = ()
    gold_only: LanguageScores | None = None
    gain_over_gold: float | None = None
    sentences: SentenceCounts | None = None

    @property
    def ok(self) -> bool:
        """Scored (teacher and student are set)."""
        return self.status == "ok" and self.teacher is not None and self.student is not None

    def to_json(self) -> dict[str, Any]:
        """The language's entry in ``report.json``."""
        if self.status != "ok":
            return {"status": self.status, "name": self.name}
        out: dict[str, Any] = {
            "status": self.status,
            "name": self.name,
            "teacher": self.teacher.to_dict() if self.teacher else None,
            "student": self.student.to_dict() if self.student else None,
            "retention": self.retention,
            "zero_shot": self.zero_shot,
            "types": list(self.types),
        }
        if self.gold_only is not None:
            out["gold_only"] = self.gold_only.to_dict()
            out["gain_over_gold"] = self.gain_over_gold
        if self.sentences is not None:
            out["sentences"] = dataclasses.asdict(self.sentences)
        return out

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> LanguageResult:
        """Inverse of :meth:`to_json`."""

        def scores(key: str) -> LanguageScores | None:
            return LanguageScores.from_dict(raw[key]) if raw.get(key) else None

        return cls(
            status=raw["status"],
            name=raw.get("name", ""),
            teacher=scores("teacher"),
            student=scores("student"),
            retention=raw.get("retention"),
            zero_shot=bool(raw.get("zero_shot", False)),
            types=tuple(raw.get("types", ())),
            gold_only=scores("gold_only"),
            gain_over_gold=raw.get("gain_over_gold"),
            sentences=SentenceCounts(**raw["sentences"]) if raw.get("sentences") else None,
        )


@dataclass(frozen=True)
class ZeroShotMacro:
    """Macro F1 over the languages learned from raw text only (no gold)."""

    languages: int
    teacher_f1: float
    student_f1: float


@dataclass(frozen=True)
class Macro:
    """Unweighted means over the scored languages."""

    languages_scored: int
    teacher_f1: float
    student_f1: float
    retention: float | None
    gold_only_f1: float | None = None
    gain_over_gold: float | None = None
    zero_shot: ZeroShotMacro | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``macro`` entry of ``report.json`` (gold-only and zero-shot figures only where they exist)."""
        out = dataclasses.asdict(self)
        out["retention"] = self.retention  # kept even when None
        return {k: v for k, v in out.items() if v is not None or k == "retention"}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Macro:
        """Inverse of :meth:`to_json`."""
        zero = raw.get("zero_shot")
        return cls(
            languages_scored=int(raw["languages_scored"]),
            teacher_f1=float(raw["teacher_f1"]),
            student_f1=float(raw["student_f1"]),
            retention=raw.get("retention"),
            gold_only_f1=raw.get("gold_only_f1"),
            gain_over_gold=raw.get("gain_over_gold"),
            zero_shot=ZeroShotMacro(**zero) if zero else None,
        )


@dataclass(frozen=True)
class EvalInfo:
    """How the scores were made."""

    mode: str
    scheme: str = "IOB2"
    level: str = "word"
    split: str = "test"
    selection: str = "dev"


@dataclass(frozen=True)
class Caps:
    """The recipe's caps on sentences per language (0 = whole split)."""

    max_train_per_lang: int
    max_transfer_per_lang: int
    max_dev_per_lang: int
    max_test_per_lang: int
    note: str = "0 = whole split; capped splits take the first N sentences of each file"

    def short(self) -> str:
        """``train 1000, transfer 3000, dev 200, test 1000`` (0 shown as ``all``)."""
        pairs = [
            ("train", self.max_train_per_lang),
            ("transfer", self.max_transfer_per_lang),
            ("dev", self.max_dev_per_lang),
            ("test", self.max_test_per_lang),
        ]
        return ", ".join(f"{k} {v if v else 'all'}" for k, v in pairs)


@dataclass(frozen=True)
class TeacherInfo:
    """Which teacher a run used and where it came from."""

    model: str
    origin: str
    pretrained: bool
    model_type: str
    layers: int
    hidden_size: int
    fine_tuned: bool
    autocast: str

    def details(self) -> str:
        """``bert, 12 layers x 384, fine-tuned jointly on the gold data, bf16``."""
        tuned = "fine-tuned jointly on the gold data" if self.fine_tuned else "used as is"
        return f"{self.model_type}, {self.layers} layers x {self.hidden_size}, {tuned}, {self.autocast}"


@dataclass(frozen=True)
class Params:
    """Parameter counts and the student's compression."""

    teacher: int
    student: int
    mbert_base: int
    student_compression_vs_mbert_base: float
    student_compression_vs_teacher: float


@dataclass
class Report:
    """Everything ``report.json`` holds.

    ``throughput`` holds free-form measurements of the run's steps (e.g. ``teacher_label``: sentences,
    sentences_per_second, padding_waste); ``timings_seconds`` the wall time of each step; ``gold_only_stages``
    the gold-only student's stages (empty without one).
    """

    xdner_version: str
    name: str
    seed: int
    processes: int
    eval: EvalInfo
    caps: Caps
    entity_types: tuple[str, ...]
    languages: dict[str, LanguageResult]
    macro: Macro
    teacher: TeacherInfo | None
    params: Params
    stages: list[StageResult] = field(default_factory=list)
    gold_only_stages: list[StageResult] = field(default_factory=list)
    timings_seconds: dict[str, float] = field(default_factory=dict)
    throughput: dict[str, Any] = field(default_factory=dict)

    def labelled_stages(self) -> list[tuple[str, StageResult]]:
        """``(prefix, stage)`` for the distilled student's stages, then the gold-only student's (``gold-only: ``)."""
        return [("", st) for st in self.stages] + [("gold-only: ", st) for st in self.gold_only_stages]

    def scored(self) -> dict[str, LanguageResult]:
        """The languages with scores, in report order."""
        return {code: lang for code, lang in self.languages.items() if lang.ok}

    @property
    def has_gold_only(self) -> bool:
        """The run trained a gold-only baseline student."""
        return self.macro.gold_only_f1 is not None

    def to_json(self) -> dict[str, Any]:
        """The JSON-safe dict written as ``report.json``."""
        return {
            "xdner_version": self.xdner_version,
            "name": self.name,
            "seed": self.seed,
            "processes": self.processes,
            "eval": dataclasses.asdict(self.eval),
            "caps": dataclasses.asdict(self.caps),
            "entity_types": list(self.entity_types),
            "languages": {code: lang.to_json() for code, lang in self.languages.items()},
            "macro": self.macro.to_json(),
            "teacher": dataclasses.asdict(self.teacher) if self.teacher else {},
            "params": dataclasses.asdict(self.params),
            "stages": [dataclasses.asdict(s) for s in self.stages],
            "gold_only_stages": [dataclasses.asdict(s) for s in self.gold_only_stages],
            "timings_seconds": dict(self.timings_seconds),
            "throughput": self.throughput,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Report:
        """Inverse of :meth:`to_json`; fields added after a report was written take their defaults.

        Raises:
            KeyError, TypeError, ValueError: ``raw`` is not a report (callers turn these into one-line errors).
        """
        teacher = raw.get("teacher") or None
        return cls(
            xdner_version=str(raw.get("xdner_version", "?")),
            name=str(raw["name"]),
            seed=int(raw["seed"]),
            processes=int(raw.get("processes", 1)),
            eval=EvalInfo(**raw["eval"]),
            caps=Caps(**raw["caps"]),
            entity_types=tuple(raw.get("entity_types", ())),
            languages={code: LanguageResult.from_json(v) for code, v in raw["languages"].items()},
            macro=Macro.from_json(raw["macro"]),
            teacher=TeacherInfo(**teacher) if teacher else None,
            params=Params(**raw["params"]),
            stages=[StageResult.from_dict(s) for s in raw.get("stages", [])],
            gold_only_stages=[StageResult.from_dict(s) for s in raw.get("gold_only_stages", [])],
            timings_seconds=dict(raw.get("timings_seconds", {})),
            throughput=dict(raw.get("throughput", {})),
        )


def step_rows(report: Report) -> list[list[str]]:
    """``[step, seconds, peak RSS MiB]`` per timed step (peak blank in reports written before it was kept)."""
    memory = report.throughput.get("peak_rss_mib", {})
    peaks = memory.get("steps", {})
    return [
        [name, f"{seconds:,.1f}", f"{peaks[name]:,.0f}" if name in peaks else ""]
        for name, seconds in report.timings_seconds.items()
    ]


def peak_note(report: Report) -> str:
    """What the peak RSS column means in this report ('' when it has none)."""
    memory = report.throughput.get("peak_rss_mib")
    if not memory:
        return ""
    child = (
        " The data and teacher steps up to teacher_label ran in a child process (run.teacher_process): theirs are"
        " its figures; teacher_reload and the later steps are the run's own process."
        if report.throughput.get("teacher_process") == "child"
        else ""
    )
    if memory.get("per_step"):
        return (
            "Peak RSS: the highest resident memory of the process during each step (exact where the step set the "
            "process's peak so far, else sampled every 0.25 s)." + child
        )
    return "Peak RSS: the process's highest resident memory from its start to the end of each step." + child
