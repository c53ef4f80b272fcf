"""Raw text -> entities with a trained student: split words, featurize, length-bucketed batches, CRF decode.

The model side is a :class:`Backend` (ONNX Runtime in :mod:`xtremedistil_ner.runtime.onnx`, PyTorch in
:mod:`xtremedistil_ner.serve.torch_backend`), so both run through the same word splitting, batching and span
extraction and can be compared entity by entity. An entity's score is the mean over its words of the CRF
posterior marginal of the predicted tag. Imports NumPy and the package's plain modules only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from xtremedistil_ner.data.tags import TagVocab, bio_spans
from xtremedistil_ner.runtime.batching import by_length
from xtremedistil_ner.runtime.features import Featurized
from xtremedistil_ner.runtime.pieces import PieceCache
from xtremedistil_ner.runtime.words import Word, split_words


@dataclass(frozen=True)
class Entity:
    """One entity: its text, type, ``[start, end)`` character offsets, score in [0, 1] and word range."""

    text: str
    type: str
    start: int
    end: int
    score: float
    first_word: int
    last_word: int


@dataclass(frozen=True)
class Prediction:
    """A tagged sentence: the input text, its words, one tag per word and the entities."""

    text: str
    words: tuple[Word, ...]
    tags: tuple[str, ...]
    entities: tuple[Entity, ...]

    def to_json(self) -> str:
        """One JSONL line: ``{"text", "entities": [{"text", "type", "start", "end", "score"}]}``."""
        entities = [
            {"text": e.text, "type": e.type, "start": e.start, "end": e.end, "score": round(e.score, 4)}
            for e in self.entities
        ]
        return json.dumps({"text": self.text, "entities": entities}, ensure_ascii=False)

    def to_conll(self) -> str:
        """``word<TAB>tag`` lines and a blank line."""
        return "".join(f"{w.text}\t{t}\n" for w, t in zip(self.words, self.tags, strict=True)) + "\n"


class Backend(Protocol):
    """Emissions -> best paths for a batch of featurized sentences."""

    def tag(self, features: Featurized, ids: Sequence[int]) -> list[tuple[list[int], list[float]]]:
        """For each sentence of ``ids``: Viterbi tag ids and the posterior marginal of each chosen tag."""
        ...


def entities_of(words: Sequence[Word], tags: Sequence[str], scores: Sequence[float], text: str) -> list[Entity]:
    """Entities of one tagged sentence, with character offsets into ``text``."""
    out = []
    for first, last, kind in bio_spans(tags):
        start, end = words[first].start, words[last - 1].end
        score = sum(scores[first:last]) / (last - first)
        out.append(Entity(text[start:end], kind, start, end, score, first, last))
    return out


def predict_texts(
    backend: Backend, pieces: PieceCache, tags: TagVocab, texts: Sequence[str], batch_size: int = 64
) -> list[Prediction]:
    """Tag raw sentences (one per item); blank ones come back with no words.

    Args:
        backend: the model side (ONNX Runtime or PyTorch).
        pieces: the student's tokenizer behind a word cache (keep one per model: it fills as texts come in).
        tags: the student's tag set.
        texts: raw sentences.
        batch_size: sentences per batch (batches are bucketed by length to cut padding).
    """
    split = [split_words(t) for t in texts]
    return predict_words(backend, pieces, tags, [[w.text for w in ws] for ws in split], texts, split, batch_size)


def predict_words(
    backend: Backend,
    pieces: PieceCache,
    tags: TagVocab,
    sentences: Sequence[Sequence[str]],
    texts: Sequence[str] | None = None,
    words: Sequence[Sequence[Word]] | None = None,
    batch_size: int = 64,
) -> list[Prediction]:
    """Tag pre-split sentences (``texts``/``words`` give offsets; by default the words joined by spaces)."""
    if words is None or texts is None:
        texts = [" ".join(s) for s in sentences]
        words = [_offsets(s) for s in sentences]
    keep = [i for i, s in enumerate(sentences) if s]
    features = pieces.featurize([sentences[i] for i in keep])
    decoded: dict[int, tuple[list[int], list[float]]] = {}
    for ids in by_length(features.lengths().tolist(), batch_size):
        for i, result in zip(ids, backend.tag(features, ids), strict=True):
            decoded[keep[i]] = result
    out = []
    for i, text in enumerate(texts):
        path, scores = decoded.get(i, ([], []))
        tag_strings = tags.decode(path)
        # O is tag id 0: a sentence tagged all O has no entity to look for
        found = entities_of(words[i], tag_strings, scores, text) if any(path) else ()
        out.append(Prediction(text, tuple(words[i]), tuple(tag_strings), tuple(found)))
    return out


def _offsets(tokens: Iterable[str]) -> list[Word]:
    out, pos = [], 0
    for token in tokens:
        out.append(Word(token, pos, pos + len(token)))
        pos += len(token) + 1
    return out


@dataclass
class Tagger:
    """A student ready to tag raw text: its model side, its tokenizer behind a word cache and its tag set.

    Made by :func:`xtremedistil_ner.runtime.onnx.load_onnx_tagger` (no torch) or
    :func:`xtremedistil_ner.serve.load_tagger` (the fastest runtime the student has).
    """

    backend: Backend
    pieces: PieceCache
    tags: TagVocab
    runtime: str

    def predict(self, texts: str | Sequence[str], batch_size: int = 64) -> list[Prediction]:
        """Entities in raw sentences (one per item; a single string is one sentence), split into words here."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        return predict_texts(self.backend, self.pieces, self.tags, texts, batch_size)

    def predict_words(self, sentences: Sequence[Sequence[str]], batch_size: int = 64) -> list[Prediction]:
        """Entities in sentences already split into words."""
        return predict_words(self.backend, self.pieces, self.tags, sentences, batch_size=batch_size)
