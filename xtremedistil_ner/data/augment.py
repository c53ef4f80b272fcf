"""Unlabeled text made from a small labeled folder: the gold sentences with their entity mentions swapped.

A one-language folder of a few thousand sentences gives the student little teacher signal when the transfer
set is the folder's own train text. Mention replacement (Dai & Adel, COLING 2020) makes more of it: each new
sentence is a gold sentence that holds an entity, every mention replaced by a mention of the same type drawn
from the gold. The result is unlabeled: the teacher labels it like any transfer text, so the student learns the
teacher's reading of new (context, name) pairs. Pure and seeded: the same input gives the same sentences.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from xtremedistil_ner.data.records import Sentence
from xtremedistil_ner.data.tags import bio_spans


def mention_swaps(sentences: Sequence[Sentence], count: int, seed: str | int = 0) -> list[Sentence]:
    """``count`` unlabeled sentences: gold sentences holding an entity, each mention swapped for another.

    Args:
        sentences: labeled sentences of one language (unlabeled ones are ignored).
        count: how many to make (0: none).
        seed: seeds the draws (any string or int).

    Returns:
        Unlabeled sentences (``tags`` None) in the language of their source; empty when no sentence holds an
        entity.
    """
    mentions: dict[str, list[tuple[str, ...]]] = {}
    sources: list[tuple[Sentence, list[tuple[int, int, str]]]] = []
    for sentence in sentences:
        spans = bio_spans(sentence.tags or ())
        for start, end, kind in spans:
            mentions.setdefault(kind, []).append(sentence.tokens[start:end])
        if spans:
            sources.append((sentence, spans))
    if count <= 0 or not sources:
        return []
    rng = random.Random(f"mention-swaps:{seed}")
    made = []
    for _ in range(count):
        sentence, spans = sources[rng.randrange(len(sources))]
        tokens: list[str] = []
        at = 0
        for start, end, kind in spans:
            tokens += sentence.tokens[at:start]
            tokens += mentions[kind][rng.randrange(len(mentions[kind]))]
            at = end
        tokens += sentence.tokens[at:]
        made.append(Sentence(tuple(tokens), None, sentence.lang))
    return made
