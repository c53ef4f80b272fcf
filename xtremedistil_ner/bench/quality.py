"""The quality benchmark: one teacher, many students: the paper's ablation plus our options.

Every variant distils from the same teacher and transfer cache (alignment variants relabel into their own
cache) with the same total number of epochs over the transfer set, and is scored on the same test sentences.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xtremedistil_ner.atomic_files import write_json, write_text
from xtremedistil_ner.config import RunConfig, StageConfig, with_overrides
from xtremedistil_ner.errors import XdnerError
from xtremedistil_ner.pipeline import (
    TeacherSide,
    dev_targets,
    start_run,
    student_side,
    teacher_side,
    transfer_targets,
)
from xtremedistil_ner.progress import Progress
from xtremedistil_ner.report import read_paper


@dataclass(frozen=True)
class Variant:
    """One student recipe of the ablation.

    Its stages, and recipe overrides (``--set`` keys, e.g. ``{"distill.soft_loss": "kl"}``) on top of the run's
    recipe; unless they say otherwise a variant uses the paper's MSE soft loss.
    """

    name: str
    what: str
    stages: tuple[StageConfig, ...]
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def relabels(self) -> bool:
        """The variant changes how teacher pieces become word targets: the transfer set is labeled again."""
        return any(key in self.overrides for key in ("teacher.pooling", "teacher.hidden_layer"))


def ablation(total_epochs: float = 5.0, hidden_epochs: float = 1.0) -> list[Variant]:
    """The paper's ablation at an equal budget of ``total_epochs`` passes over the transfer set."""
    rest = total_epochs - hidden_epochs
    mean_pool, max_pool = {"teacher.pooling": "mean"}, {"teacher.pooling": "max"}
    sub = rest / 8  # gradual: 4 sub-stages for soft and 4 for hard
    staged_gradual = (
        StageConfig("hidden", hidden_epochs),
        StageConfig("soft", sub, "gradual"),
        StageConfig("hard", sub, "gradual"),
    )
    return [
        Variant("gold", "student on the gold labels alone (no teacher)", (StageConfig("gold", total_epochs),)),
        Variant("hard", "teacher hard labels only", (StageConfig("hard", total_epochs),)),
        Variant(
            "hard+soft",
            "teacher logits (MSE), then hard labels",
            (StageConfig("soft", total_epochs / 2), StageConfig("hard", total_epochs / 2)),
        ),
        Variant(
            "staged",
            "representation -> logits -> labels, all layers trainable",
            (StageConfig("hidden", hidden_epochs), StageConfig("soft", rest / 2), StageConfig("hard", rest / 2)),
        ),
        Variant(
            "staged+gradual", "staged with top-down gradual unfreezing, MSE soft loss (the paper's)", staged_gradual
        ),
        Variant(
            "staged+gradual+kl",
            "as above, soft loss KL with T=2 (T^2-scaled)",
            staged_gradual,
            {"distill.soft_loss": "kl", "distill.temperature": 2.0},
        ),
        Variant(
            "staged+gradual+crf",
            "as above, soft loss on CRF marginals (the default recipe)",
            staged_gradual,
            {"distill.soft_loss": "crf"},
        ),
        Variant("pool=mean", "staged+gradual, teacher pieces mean-pooled to words", staged_gradual, mean_pool),
        Variant("pool=max", "staged+gradual, teacher pieces max-pooled to words", staged_gradual, max_pool),
        Variant(
            "layer=0",
            "staged+gradual, representation loss on the embedding layer",
            staged_gradual,
            {"teacher.hidden_layer": 0},
        ),
        Variant(
            "layer=last",
            "staged+gradual, representation loss on the last layer",
            staged_gradual,
            {"teacher.hidden_layer": -1},
        ),
    ]


def tokenizer_variants(assets: Path, total_epochs: float = 5.0, hidden_epochs: float = 1.0) -> list[Variant]:
    """staged+gradual with a student tokenizer of its own (run on request: ``--only tok=mbert,...``).

    Args:
        assets: the folder holding the tokenizers (``../shared/assets/tokenizers``).
        total_epochs: passes over the transfer set, as in :func:`ablation`.
        hidden_epochs: of which the representation stage takes this many.
    """
    stages = next(v.stages for v in ablation(total_epochs, hidden_epochs) if v.name == "staged+gradual")
    choices = {
        "mbert": ("mBERT cased WordPiece", assets / "bert-base-multilingual-cased"),
        "xlmr": ("XLM-R SentencePiece", assets / "xlm-roberta-base"),
        "laser50k": ("LASER unigram SentencePiece, 50k", assets / "blingfire-laser-unigram-spm" / "laser_50k.model"),
    }
    return [
        Variant(f"tok={key}", f"staged+gradual, student tokenizer: {what}", stages, {"student.tokenizer": str(path)})
        for key, (what, path) in choices.items()
    ]


def _variant_config(base: RunConfig, v: Variant) -> RunConfig:
    """The run's recipe with the variant's stages and overrides (the paper's MSE soft loss unless it says)."""
    stages = [dataclasses.asdict(stage) for stage in v.stages]
    return with_overrides(
        base, {"distill.soft_loss": "mse", "distill.temperature": 1.0, **v.overrides, "distill.stages": stages}, v.name
    )


def run_quality(
    cfg: RunConfig,
    out: Path,
    variants: list[Variant] | None = None,
    only: tuple[str, ...] = (),
    paper: Path | None = None,
    progress: Progress | None = None,
    assets: Path = Path("../shared/assets/tokenizers"),
) -> dict[str, Any]:
    """Train the teacher once, then every variant; write ``quality.json`` and ``RESULTS.md`` into ``out``.

    ``only`` picks variants by name from ``variants`` (default: the ablation plus the tokenizer variants, which
    run only when named); without ``only`` the ablation runs.

    Raises:
        XdnerError: a name in ``only`` is not a variant.
    """
    if variants is None:
        variants = ablation() + (tokenizer_variants(assets) if only else [])
    unknown = sorted(set(only) - {v.name for v in variants})
    if unknown:
        raise XdnerError(f"unknown variant(s) {', '.join(unknown)}; choose from {', '.join(v.name for v in variants)}")
    variants = [v for v in variants if not only or v.name in only]
    state = start_run(cfg, out, progress)
    side = teacher_side(state)
    results: dict[str, Any] = {
        "teacher": _scores(side.teacher_scores),
        "teacher_type": str(getattr(side.teacher.model.config, "model_type", "")),
        "variants": {},
        "timings": dict(state.timings),
    }
    for v in variants:
        vcfg = _variant_config(cfg, v)
        start = time.perf_counter()
        vside = _relabel(state, side, vcfg) if v.relabels else side
        run = student_side(dataclasses.replace(state, cfg=vcfg), vside, vcfg)
        results["variants"][v.name] = {
            "what": v.what,
            "scores": _scores(run.scores),
            "stages": [dataclasses.asdict(s) for s in run.stages],
            "seconds": round(time.perf_counter() - start, 1),
            "student_params": run.student.num_parameters(),
        }
        results["params"] = {"teacher": side.teacher.num_parameters(), "student": run.student.num_parameters()}
        write_json(out / "quality.json", results)
    results["paper"] = read_paper(paper) if paper else {}
    write_json(out / "quality.json", results)
    write_text(out / "RESULTS.md", to_markdown(results, cfg))
    return results


def _relabel(state: Any, side: TeacherSide, vcfg: RunConfig) -> TeacherSide:
    """Teacher targets under other alignment settings, in their own cache directory."""
    t = vcfg.teacher
    vstate = dataclasses.replace(state, cfg=vcfg)
    name = f"cache-{t.pooling}-layer{t.hidden_layer}"
    targets = transfer_targets(vstate, side.teacher, side.corpus.split("transfer"), state.out / name)
    dev = dev_targets(vstate, side.teacher, side.corpus.split("dev"), state.out / f"{name}-dev")
    return dataclasses.replace(side, targets=targets, teacher_dev=dev)


def _scores(scores: dict[str, Any]) -> dict[str, float]:
    return {lang: s.overall.f1 for lang, s in scores.items()}


def _macro(scores: dict[str, float]) -> float:
    return sum(scores.values()) / max(len(scores), 1)


def to_markdown(results: dict[str, Any], cfg: RunConfig) -> str:
    """The ablation table (macro F1, retention) and a per-language table with the paper's columns beside ours."""
    teacher = results["teacher"]
    t_macro = _macro(teacher)
    p = results.get("params", {})
    lines = [
        "| variant | what | student macro F1 | retention | time (s) |",
        "|---|---|---|---|---|",
        f"| teacher | {cfg.teacher.num_hidden_layers or 'pretrained'}-layer {results.get('teacher_type', '')} "
        f"teacher, {p.get('teacher', 0):,} params "
        f"| {100 * t_macro:.2f} | 100.0 | |",
    ]
    for name, v in results["variants"].items():
        m = _macro(v["scores"])
        retention = f"{100 * m / t_macro:.1f}" if t_macro > 0 else "-"
        lines.append(f"| {name} | {v['what']} | {100 * m:.2f} | {retention} | {v['seconds']} |")
    langs = sorted(teacher)
    names = list(results["variants"])
    paper = results.get("paper", {})
    head = ["lang", "teacher", *names] + (["paper mBERT teacher", "paper student"] if paper else [])
    lines += ["", "Per language (test entity F1, %):", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for lang in langs:
        row = [lang, f"{100 * teacher[lang]:.1f}"] + [
            f"{100 * results['variants'][n]['scores'][lang]:.1f}" for n in names
        ]
        if paper:
            pr = paper.get(lang, {})
            row += [f"{100 * pr['mbert_teacher']:.0f}" if "mbert_teacher" in pr else "-"]
            row += [f"{100 * pr['student']:.0f}" if "student" in pr else "-"]
        lines.append("| " + " | ".join(row) + " |")
    macro_row = ["macro", f"{100 * t_macro:.1f}"] + [
        f"{100 * _macro(results['variants'][n]['scores']):.1f}" for n in names
    ]
    if paper:
        shared = [lang for lang in langs if lang in paper]
        macro_row += [
            f"{100 * sum(paper[lang]['mbert_teacher'] for lang in shared) / max(len(shared), 1):.1f}",
            f"{100 * sum(paper[lang]['student'] for lang in shared) / max(len(shared), 1):.1f}",
        ]
    lines.append("| " + " | ".join(macro_row) + " |")
    if paper:
        lines += [
            "",
            "Paper columns: XtremeDistil (ACL 2020) Table 17, mBERT-base teacher and their best 31.8M-param student; "
            "their F1 is on wordpiece sequences cut at 32 pieces, ours is word-level seqeval on whole sentences.",
        ]
    return "\n".join(lines) + "\n"
