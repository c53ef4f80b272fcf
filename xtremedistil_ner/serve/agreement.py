"""Do two runtimes of one student find the same entities? Entity agreement and F1 on labeled sentences."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from xtremedistil_ner.config import RunConfig
from xtremedistil_ner.data.records import Sentence
from xtremedistil_ner.data.tags import TagVocab, bio_spans
from xtremedistil_ner.evaluate import score
from xtremedistil_ner.runtime.pieces import PieceCache
from xtremedistil_ner.runtime.predict import Backend, predict_words


def entity_set(tag_rows: Sequence[Sequence[str]]) -> set[tuple[int, int, int, str]]:
    """``(sentence, first_word, last_word_exclusive, type)`` of every entity."""
    return {(i, a, b, kind) for i, tags in enumerate(tag_rows) for a, b, kind in bio_spans(tags)}


def compare_backends(
    backends: Mapping[str, Backend],
    tokenizer: Any,
    tags: TagVocab,
    sentences: Sequence[Sentence],
    reference: str = "pytorch",
    mode: str = "conlleval",
    batch_size: int = 64,
) -> dict[str, Any]:
    """Tag ``sentences`` once with every backend; compare each with ``reference`` and with the gold tags.

    Returns:
        ``{"overall": {backend: figures}, "languages": {lang: {backend: figures}}}`` where the figures are
        ``entities``, ``agreement`` (share of the reference's entities found with the same span and type),
        ``exact_sentences`` (share of sentences tagged identically), ``f1`` (micro entity F1 vs gold) and
        ``f1_change`` (vs the reference, in F1 points).
    """
    words = [list(s.tokens) for s in sentences]
    pieces = PieceCache(tokenizer)
    predicted = {
        name: [list(p.tags) for p in predict_words(b, pieces, tags, words, batch_size=batch_size)]
        for name, b in backends.items()
    }
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(sentences):
        groups.setdefault(s.lang, []).append(i)
    everything = list(range(len(sentences)))
    return {
        "overall": _figures(predicted, sentences, everything, reference, mode),
        "languages": {lang: _figures(predicted, sentences, ids, reference, mode) for lang, ids in groups.items()},
    }


def _figures(
    predicted: Mapping[str, list[list[str]]],
    sentences: Sequence[Sentence],
    ids: Sequence[int],
    reference: str,
    mode: str,
) -> dict[str, dict[str, float]]:
    gold = [list(sentences[i].tags or ()) for i in ids]
    ref_rows = [predicted[reference][i] for i in ids]
    ref_entities = entity_set(ref_rows)
    out: dict[str, dict[str, float]] = {}
    for name, all_rows in predicted.items():
        rows = [all_rows[i] for i in ids]
        found = entity_set(rows)
        out[name] = {
            "entities": float(len(found)),
            "agreement": len(found & ref_entities) / max(len(ref_entities), 1),
            "exact_sentences": sum(a == b for a, b in zip(rows, ref_rows, strict=True)) / max(len(rows), 1),
            "f1": score(gold, rows, mode).overall.f1,
        }
    for name in out:
        out[name]["f1_change"] = 100 * (out[name]["f1"] - out[reference]["f1"])
    return out


def check_export(student_dir: Path, cfg: RunConfig, split: str = "test") -> dict[str, Any]:
    """PyTorch vs ONNX vs ONNX int8 of an exported student on ``split`` of the recipe's data (all languages).

    Returns:
        ``{"overall": {backend: figures}, "languages": {lang: {backend: figures}}, "sentences": n}`` (see
        :func:`compare_backends` for the figures); also written to ``STUDENT/onnx/agreement.json``.
    """
    from xtremedistil_ner.atomic_files import write_json
    from xtremedistil_ner.checkpoint import load_student
    from xtremedistil_ner.data.corpus import load_corpus
    from xtremedistil_ner.languages import resolve_langs
    from xtremedistil_ner.runtime.onnx import OnnxBackend
    from xtremedistil_ner.serve.torch_backend import TorchBackend

    loaded = load_student(student_dir)
    onnx_dir = student_dir / "onnx"
    backends: dict[str, Backend] = {
        "pytorch": TorchBackend(loaded.model, loaded.lookup),
        "onnx": OnnxBackend(onnx_dir / "model.onnx", loaded.lookup),
    }
    if (onnx_dir / "model.int8.onnx").is_file():
        backends["onnx-int8"] = OnnxBackend(onnx_dir / "model.int8.onnx", loaded.lookup)
    corpus = load_corpus(cfg.data, resolve_langs(cfg.data.langs), need_transfer=False)
    sentences = corpus.split(split)
    compared = compare_backends(backends, loaded.tokenizer, loaded.tags, sentences, mode=cfg.eval.mode)
    result: dict[str, Any] = {"split": split, "sentences": len(sentences), **compared}
    write_json(onnx_dir / "agreement.json", result)
    return result
