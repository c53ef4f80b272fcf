"""The serving word cache gives exactly the pieces of featurizing whole sentences, for every tokenizer kind."""

from __future__ import annotations

import numpy as np
import pytest

from xtremedistil_ner.data.records import Sentence
from xtremedistil_ner.serve.pieces import PieceCache
from xtremedistil_ner.student.vocab import featurize

from .conftest import MBERT, SHARED, XLMR, need_shared

LASER = SHARED / "assets" / "tokenizers" / "blingfire-laser-unigram-spm" / "laser_50k.model"
LANGS = ("de", "hi", "ar", "ta", "el", "ru", "vi", "he")


def _real_sentences(per_lang: int) -> list[list[str]]:
    out = []
    for lang in LANGS:
        lines = (SHARED / "data" / "wikiann" / lang / "test.tsv").read_text(encoding="utf-8").splitlines()
        out += [line.split("\t")[0].split() for line in lines[:per_lang]]
    return out


@pytest.mark.parametrize("path", [MBERT, XLMR, LASER], ids=["wordpiece", "sentencepiece-bpe", "unigram"])
def test_cached_pieces_equal_featurize_on_real_text(path):
    need_shared()
    from xtremedistil_ner.teacher import load_tokenizer

    tokenizer = load_tokenizer(str(path))
    sentences = _real_sentences(40)
    expected = featurize(tokenizer, [Sentence(tuple(s), None, "") for s in sentences])
    cache = PieceCache(tokenizer, max_words=5_000)
    for _ in range(2):  # cold, then every word from the cache
        got = cache.featurize(sentences)
        for key in ("sentence_offsets", "word_offsets", "pieces"):
            assert np.array_equal(getattr(got, key), getattr(expected, key)), key
    assert 1_000 < len(cache) <= 5_000


def test_the_cache_stays_bounded_and_keeps_giving_the_same_pieces(mbert_tokenizer):
    sentences = _real_sentences(60)
    cache = PieceCache(mbert_tokenizer, max_words=300)
    for start in range(0, len(sentences), 20):  # a stream of small batches, far more distinct words than 300
        part = sentences[start : start + 20]
        got = cache.featurize(part)
        expected = featurize(mbert_tokenizer, [Sentence(tuple(s), None, "") for s in part])
        assert np.array_equal(got.pieces, expected.pieces) and np.array_equal(got.word_offsets, expected.word_offsets)
        assert len(cache) <= 300
    assert cache.featurize([]).pieces.size == 0
