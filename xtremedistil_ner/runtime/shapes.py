"""Word shapes: a few spelling classes (case, digits, punctuation) of each word, for the student's input.

The student's word vector is the mean of its pieces' embeddings, where a name and a common word of the same
spelling up to case often meet (``▁Apple``/``▁apple`` are close rows of the teacher's table, and closer after
the SVD to 50 dimensions). Case is the strongest single cue for names in cased scripts, so the student can add
a small embedding of the word's shape (``student.shape_dim``). Scripts without case get one class of their own.
NumPy and the standard library only: the serving runtime computes the same classes.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

SHAPES = ("lower", "title", "upper", "mixed", "digits", "digits+", "punct", "uncased")
"""Class names by id: all-lowercase, Capitalized, ALL CAPS (or one capital), other mixed case, digits only,
digits with letters or signs (``1990s``, ``3.5``), no letter or digit, letters of a script without case."""


def word_shape(word: str) -> int:
    """The :data:`SHAPES` id of ``word``."""
    if word.isdigit():
        return 4
    if any(ch.isdigit() for ch in word):
        return 5
    if word.islower():
        return 0
    if word.isupper():
        return 2 if sum(ch.isalpha() for ch in word) > 1 else 1
    if word.istitle():
        return 1
    if any(ch.isupper() for ch in word):
        return 3
    if any(ch.isalpha() for ch in word):
        return 7
    return 6


def word_shapes(words: Iterable[str], count: int = -1) -> np.ndarray:
    """``(n_words,)`` int64 :data:`SHAPES` ids of ``words``."""
    return np.fromiter(map(word_shape, words), np.int64, count=count)
