"""Unlabeled text made from a small labeled folder: the gold sentences with their entity mentions swapped.

A one-language folder of a few thousand sentences gives the student little teacher signal when the transfer
set is the folder's own train text. Mention replacement (Dai & Adel, COLING 2020) makes more of it: each new
sentence is a gold sentence that holds an entity, every mention replaced by a mention of the same type drawn
from the gold. The result is unlabeled: the teacher labels it like any transfer text, so the student learns the
teacher's reading of new (context, name) pairs. With ``recombine`` a share of the swapped-in mentions are new
names, not gold ones: the head of one gold mention joined to the tail of another of its type (words, or the
characters of one-word mentions), so the student also meets names whose words it has never seen, labeled by the
teacher. With ``context_swap`` a share of the words outside mentions are replaced by words drawn from outside the
gold's mentions (Dai & Adel's label-wise token replacement, on the context only), so the student also meets the
names in contexts the gold does not hold. Pure and seeded: the same input gives the same sentences.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from xtremedistil_ner.data.records import Sentence
from xtremedistil_ner.data.tags import bio_spans


def recombined(a: tuple[str, ...], b: tuple[str, ...], rng: random.Random) -> tuple[str, ...]:
    """A new mention from two of one type: ``a``'s head joined to ``b``'s tail.

    Two one-word mentions of two characters or more join at characters (``Obama``, ``Clinton`` -> ``Oblinton``;
    ``北京市``, ``国务院`` -> ``北务院``); otherwise at words (at least one word of each where they have two).
    """
    if len(a) == 1 and len(b) == 1 and len(a[0]) > 1 and len(b[0]) > 1:
        return (a[0][: rng.randint(1, len(a[0]) - 1)] + b[0][rng.randint(1, len(b[0]) - 1) :],)
    head = a[: rng.randint(1, len(a) - 1)] if len(a) > 1 else a
    tail = b[rng.randint(1, len(b) - 1) :] if len(b) > 1 else b
    return head + tail


def _context(tokens: Sequence[str], pool: Sequence[str], share: float, rng: random.Random) -> list[str]:
    """``tokens`` with each replaced, with probability ``share``, by a word drawn from ``pool`` (no draw at 0)."""
    if not share:
        return list(tokens)
    return [pool[rng.randrange(len(pool))] if rng.random() < share else token for token in tokens]


def mention_swaps(
    sentences: Sequence[Sentence],
    count: int,
    seed: str | int = 0,
    labeled: bool = False,
    recombine: float = 0.0,
    context_swap: float = 0.0,
) -> list[Sentence]:
    """``count`` gold sentences holding an entity, each mention swapped for another mention of its type.

    Args:
        sentences: labeled sentences of one language (unlabeled ones are ignored).
        count: how many to make (0: none).
        seed: seeds the draws (any string or int).
        labeled: keep the tags (``B-``/``I-`` of each swapped-in mention, the source's tags elsewhere): gold
            for fine-tuning the teacher. Off: unlabeled text for the teacher to label.
        recombine: the share of swapped-in mentions that are :func:`recombined` from two gold mentions of the
            type instead of drawn as they are (0 = gold mentions only, the sentences of earlier versions).
        context_swap: the share of words outside mentions replaced by a word drawn from the gold's words
            outside mentions, as often as they occur there (0 = the source's context, as in earlier versions).

    Returns:
        Sentences in the language of their source (``tags`` None unless ``labeled``); empty when no sentence
        holds an entity.
    """
    mentions: dict[str, list[tuple[str, ...]]] = {}
    outside: list[str] = []
    sources: list[tuple[Sentence, list[tuple[int, int, str]]]] = []
    for sentence in sentences:
        spans = bio_spans(sentence.tags or ())
        for start, end, kind in spans:
            mentions.setdefault(kind, []).append(sentence.tokens[start:end])
        if spans:
            sources.append((sentence, spans))
        if context_swap:
            inside = {i for start, end, _ in spans for i in range(start, end)}
            outside += [token for i, token in enumerate(sentence.tokens) if i not in inside]
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
            pool = mentions[kind]
            mention = pool[rng.randrange(len(pool))]
            if recombine and rng.random() < recombine:
                mention = recombined(mention, pool[rng.randrange(len(pool))], rng)
            tokens += _context(sentence.tokens[at:start], outside, context_swap, rng)
            tags += source_tags[at:start]
            tokens += mention
            tags += [f"B-{kind}"] + [f"I-{kind}"] * (len(mention) - 1)
            at = end
        tokens += _context(sentence.tokens[at:], outside, context_swap, rng)
        tags += source_tags[at:]
        made.append(Sentence(tuple(tokens), tuple(tags) if labeled else None, sentence.lang))
    return made
