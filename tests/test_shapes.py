"""Word shapes: the spelling classes the student may embed beside its pieces."""

from __future__ import annotations

import numpy as np
import pytest

from xtremedistil_ner.runtime.shapes import SHAPES, word_shape, word_shapes


@pytest.mark.parametrize(
    ("word", "shape"),
    [
        ("the", "lower"),
        ("é", "lower"),
        ("Smith", "title"),
        ("Ärzte", "title"),
        ("New-York", "title"),
        ("A", "title"),
        ("NASA", "upper"),
        ("U.S.", "upper"),
        ("iPhone", "mixed"),
        ("McDonald", "mixed"),
        ("1990", "digits"),
        ("1990s", "digits+"),
        ("3.5", "digits+"),
        (",", "punct"),
        ("--", "punct"),
        ("北京", "uncased"),
        ("नई", "uncased"),
    ],
)
def test_word_shape_classes(word: str, shape: str) -> None:
    assert SHAPES[word_shape(word)] == shape


def test_word_shapes_is_the_per_word_class_in_order() -> None:
    words = ["Paris", "is", "in", "FRANCE", "2024", "."]
    out = word_shapes(words, len(words))
    assert out.dtype == np.int64
    assert [SHAPES[i] for i in out] == ["title", "lower", "lower", "upper", "digits", "punct"]
