"""Small helpers for the words of messages and reports."""

from __future__ import annotations


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``"1 language"``, ``"2 languages"``, ``"1,200 sentences"``: the count (thousands separated) and its noun.

    ``nouns`` is the plural when it is not ``noun + "s"``.
    """
    return f"{count:,} {noun if count == 1 else nouns or noun + 's'}"
