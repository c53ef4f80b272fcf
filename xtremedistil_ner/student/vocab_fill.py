"""Rows for pieces the training text lacks: the tokenizer's most frequent pieces in the text's scripts.

The student keeps an embedding row only for pieces of its training text; a word of the test whose piece is not
there falls back to ``<unk>``. On a small one-language folder that is a large share of names (UNER English,
12,543 train sentences: 18% of test entity words had an unknown piece). Every piece of the teacher's tokenizer
has a teacher vector, so its SVD-compressed row is informative even if training never updates it.
``student.fill_vocab`` spends the rows left under ``max_vocab`` on the tokenizer's most frequent pieces (a
unigram model's scores; vocabulary order otherwise) that are written in the training text's scripts.
Standard library only; the tokenizer is any Hugging Face fast tokenizer.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

MIN_SCRIPT_SHARE = 0.01
"""A script is the text's when at least this share of its letters are written in it (a few Greek or Cyrillic
names in English text do not bring in every Greek or Cyrillic piece)."""

MARKERS = ("▁", "##", "Ġ")
"""Word-start (SentencePiece, byte-level BPE) and continuation (WordPiece) markers of a piece."""
RESERVED = re.compile(r"^(\[[^\]]+\]|<[^>]+>)$")


@lru_cache(maxsize=65536)
def char_script(ch: str) -> str:
    """The script of a letter or mark: the first word of its Unicode name (``LATIN``, ``CJK``, ``CYRILLIC``).

    Digits, punctuation, symbols and spaces belong to every script: ``""``.
    """
    if not unicodedata.category(ch).startswith(("L", "M")):
        return ""
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0] if name else ""


def piece_text(piece: str) -> str:
    """``piece`` without its word-start or continuation marker."""
    for marker in MARKERS:
        if piece.startswith(marker):
            return piece[len(marker) :]
    return piece


def text_scripts(piece_counts: Mapping[str, int], min_share: float = MIN_SCRIPT_SHARE) -> frozenset[str]:
    """Scripts of the training text: those of at least ``min_share`` of its letters, pieces weighted by count."""
    letters: dict[str, int] = {}
    for piece, count in piece_counts.items():
        for ch in piece_text(piece):
            script = char_script(ch)
            if script:
                letters[script] = letters.get(script, 0) + count
    total = sum(letters.values())
    return frozenset(s for s, n in letters.items() if total and n >= min_share * total)


def in_scripts(piece: str, scripts: frozenset[str]) -> bool:
    """True when every letter of ``piece`` is in ``scripts`` and it has some text besides its marker."""
    text = piece_text(piece)
    allowed = scripts | {""}  # "": digits, punctuation and symbols go with any script
    return bool(text) and all(char_script(ch) in allowed for ch in text)


def ranked_pieces(tokenizer: Any) -> list[str]:
    """The tokenizer's pieces, most frequent first; special tokens and reserved slots left out.

    A unigram model (SentencePiece: XLM-R, e5) is ranked by its scores, other models (WordPiece, BPE) by id.
    """
    specials = set(tokenizer.all_special_tokens)

    def ordinary(piece: str) -> bool:
        # reserved slots such as WordPiece's [unused7] or <0x0A> byte pieces are not text
        return piece not in specials and not RESERVED.match(piece)

    model = json.loads(tokenizer.backend_tokenizer.to_str()).get("model", {})
    if model.get("type") == "Unigram":
        scored = [(p, s) for p, s in model["vocab"] if ordinary(p)]
        return [p for p, _ in sorted(scored, key=lambda ps: -ps[1])]
    vocab = tokenizer.get_vocab()
    return [p for p, _ in sorted(vocab.items(), key=lambda pi: pi[1]) if ordinary(p)]


def fill_pieces(ranked: Iterable[str], have: Iterable[str], scripts: frozenset[str], room: int) -> list[str]:
    """Up to ``room`` pieces of ``ranked``, in its order, that are not in ``have`` and are in ``scripts``."""
    known = set(have)
    out: list[str] = []
    for piece in ranked:
        if len(out) >= room:
            break
        if piece not in known and in_scripts(piece, scripts):
            out.append(piece)
            known.add(piece)
    return out
