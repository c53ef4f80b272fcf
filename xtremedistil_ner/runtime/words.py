r"""Simple multilingual word splitting of raw text, with character offsets.

A word is a run of letters, combining marks, digits and underscores, optionally joined by an inner apostrophe
or hyphen (``don't``, ``Jean-Paul``); numbers keep inner ``.``/``,`` (``3.5``); every other non-space
character is a word of its own. Combining marks (``\p{M}``) keep Indic and Arabic words whole, which
``str.isalnum``-based ``\w`` would cut.
"""

from __future__ import annotations

from typing import NamedTuple

import regex

_WORD = regex.compile(
    r"\p{N}+(?:[.,]\p{N}+)+"  # 3.5, 1,000
    r"|[\p{L}\p{M}\p{N}_]+(?:['’\-][\p{L}\p{M}\p{N}_]+)*"  # words, inner apostrophe or hyphen
    r"|[^\s]",  # anything else: one character
    regex.V1,
)


class Word(NamedTuple):
    """A word of the input text and its ``[start, end)`` character offsets (a tuple: cheap to make)."""

    text: str
    start: int
    end: int


def split_words(text: str) -> list[Word]:
    """The words of ``text`` in order (empty for blank text)."""
    return [Word(m.group(), *m.span()) for m in _WORD.finditer(text)]
