"""Labeling with a cheaper teacher: float32 vs bfloat16 autocast vs dynamic int8, on a trained teacher.

Each precision labels the same sentences (the recipe's test split); the figures are sentences per second,
word-level tag agreement with float32, and test entity F1 (macro over languages). Every precision runs in this
one process, one after the other, so their speeds are comparable.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from xtremedistil_ner.autocast import cpu_has_bf16
from xtremedistil_ner.bench import write_figures
from xtremedistil_ner.config import RunConfig
from xtremedistil_ner.data.corpus import load_corpus
from xtremedistil_ner.errors import XdnerError
from xtremedistil_ner.evaluate import macro_f1, score_by_language
from xtremedistil_ner.languages import resolve_langs
from xtremedistil_ner.progress import Progress
from xtremedistil_ner.teacher import load_trained_teacher, predict_targets

PRECISIONS = ("float32", "bf16", "int8")


def quantized_int8(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``model`` with every ``nn.Linear`` dynamically quantized to int8 (activations per batch)."""
    import copy

    from torch.ao.quantization import quantize_dynamic

    return quantize_dynamic(copy.deepcopy(model), {torch.nn.Linear}, dtype=torch.qint8)


def run_teacher_precision(
    cfg: RunConfig,
    teacher_dir: Path,
    out: Path,
    precisions: tuple[str, ...] = PRECISIONS,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Label the recipe's test split with ``teacher_dir`` at each precision; write ``teacher_precision.json/.md``.

    Raises:
        XdnerError: no trained teacher in ``teacher_dir``, or an unknown precision.
    """
    unknown = sorted(set(precisions) - set(PRECISIONS))
    if unknown:
        raise XdnerError(f"unknown precision(s) {', '.join(unknown)}; choose from {', '.join(PRECISIONS)}")
    progress = progress or Progress()
    model, tokenizer, tags = load_trained_teacher(teacher_dir)
    model.eval()
    corpus = load_corpus(cfg.data, resolve_langs(cfg.data.langs), need_transfer=False)
    sentences = corpus.split("test")
    results: dict[str, Any] = {
        "teacher": str(teacher_dir),
        "sentences": len(sentences),
        "words": sum(len(s.tokens) for s in sentences),
        "cpu_native_bf16": cpu_has_bf16(),
        "threads": torch.get_num_threads(),
        "precisions": {},
    }
    reference: np.ndarray | None = None
    for name in precisions:
        runner = quantized_int8(model) if name == "int8" else model
        teacher_cfg = dataclasses.replace(cfg.teacher, autocast="bf16" if name == "bf16" else "no")
        advance = progress.task(f"teacher labels test in {name}", len(sentences))
        tagged: list[np.ndarray] = [np.zeros(0, np.int64)] * len(sentences)
        start = time.perf_counter()
        for i, targets in predict_targets(runner, tokenizer, sentences, teacher_cfg, "cpu", with_hidden=False):
            tagged[i] = targets.tags
            advance(1)
        seconds = time.perf_counter() - start
        flat = np.concatenate(tagged)
        if reference is None:
            reference = flat
        scores = score_by_language(sentences, [tags.decode(t) for t in tagged], cfg.eval.mode)
        results["precisions"][name] = {
            "seconds": round(seconds, 2),
            "sentences_per_second": round(len(sentences) / seconds, 1),
            "tag_agreement_with_float32": float((flat == reference).mean()),
            "macro_f1": macro_f1(scores),
        }
    write_figures(out, "teacher_precision", results, to_markdown)
    return results


def to_markdown(results: dict[str, Any]) -> str:
    """The figures as a Markdown table."""
    base = results["precisions"].get("float32", {}).get("sentences_per_second")
    lines = [
        f"Teacher `{results['teacher']}` labeling {results['sentences']:,} test sentences ({results['words']:,} "
        f"words), {results['threads']} threads; CPU with native bf16: {results['cpu_native_bf16']}.",
        "",
        "| precision | sentences/s | speed-up | word tags equal to float32 | test macro F1 |",
        "|---|---|---|---|---|",
    ]
    for name, r in results["precisions"].items():
        speedup = f"{r['sentences_per_second'] / base:.2f}x" if base else "-"
        lines.append(
            f"| {name} | {r['sentences_per_second']:,.1f} | {speedup} | "
            f"{100 * r['tag_agreement_with_float32']:.2f}% | {100 * r['macro_f1']:.2f} |"
        )
    return "\n".join(lines) + "\n"
