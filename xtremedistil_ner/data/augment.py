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


def mention_swaps(
    sentences: Sequence[Sentence], count: int, seed: str | int = 0, labeled: bool = False
) -> list[Sentence]:
    """``count`` gold sentences holding an entity, each mention swapped for another mention of its type.

    Args:
        sentences: labeled sentences of one language (unlabeled ones are ignored).
        count: how many to make (0: none).
        seed: seeds the draws (any string or int).
        labeled: keep the tags (``B-``/``I-`` of each swapped-in mention, the source's tags elsewhere): gold
            for fine-tuning the teacher. Off: unlabeled text for the teacher to label.

    Returns:
        Sentences in the language of their source (``tags`` None unless ``labeled``); empty when no sentence
        holds an entity.
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
        tags: list[str] = []
        source_tags = sentence.tags or ()
        at = 0
        for start, end, kind in spans:
            mention = mentions[kind][rng.randrange(len(mentions[kind]))]
            tokens += sentence.tokens[at:start]
            tags += source_tags[at:start]
            tokens += mention
            tags += [f"B-{kind}"] + [f"I-{kind}"] * (len(mention) - 1)
            at = end
        tokens += sentence.tokens[at:]
        tags += source_tags[at:]
        made.append(Sentence(tuple(tokens), tuple(tags) if labeled else None, sentence.lang))
    return made
