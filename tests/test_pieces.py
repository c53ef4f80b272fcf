"""The serving word cache gives exactly the pieces of featurizing whole sentences, for every tokenizer kind."""

from __future__ import annotations

import numpy as np
import pytest

from xtremedistil_ner.runtime.features import featurize
from xtremedistil_ner.runtime.pieces import PieceCache, featurize_words

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
    from xtremedistil_ner.tokenizer_files import load_tokenizer

    tokenizer = load_tokenizer(str(path))
    sentences = _real_sentences(40)
    expected = featurize(tokenizer, sentences)
    cache = PieceCache(tokenizer, max_words=5_000)
    for _ in range(2):  # cold, then every word from the cache
        got = cache.featurize(sentences)
        for key in ("sentence_offsets", "word_offsets", "pieces", "shapes"):
            assert np.array_equal(getattr(got, key), getattr(expected, key)), key
    assert 1_000 < len(cache) <= 5_000


def test_the_cache_stays_bounded_and_keeps_giving_the_same_pieces(mbert_tokenizer):
    sentences = _real_sentences(60)
    cache = PieceCache(mbert_tokenizer, max_words=300)
    for start in range(0, len(sentences), 20):  # a stream of small batches, far more distinct words than 300
        part = sentences[start : start + 20]
        got = cache.featurize(part)
        expected = featurize(mbert_tokenizer, part)
        assert np.array_equal(got.pieces, expected.pieces) and np.array_equal(got.word_offsets, expected.word_offsets)
        assert np.array_equal(got.shapes, expected.shapes)
        assert len(cache) <= 300
    assert cache.featurize([]).pieces.size == 0
    empty = cache.featurize([[], sentences[0], []])  # blank sentences: no words, offsets still line up
    assert empty.sentence_offsets.tolist() == [0, 0, len(sentences[0]), len(sentences[0])]
    assert np.array_equal(empty.pieces, featurize(mbert_tokenizer, [sentences[0]]).pieces)


def test_featurize_words_gives_featurize_arrays_for_a_whole_set(xlmr_tokenizer):
    """The pipeline featurizes transfer, gold, dev and test sets through it: the same arrays, words tokenized once."""
    sentences = [*_real_sentences(50), [], _real_sentences(1)[0]]  # a blank sentence and a repeated one
    got, expected = featurize_words(xlmr_tokenizer, sentences), featurize(xlmr_tokenizer, sentences)
    for key in ("sentence_offsets", "word_offsets", "pieces", "shapes"):
        assert np.array_equal(getattr(got, key), getattr(expected, key)), key
    assert featurize_words(xlmr_tokenizer, []).pieces.size == 0


@pytest.mark.parametrize("path", [MBERT, XLMR, LASER], ids=["wordpiece", "sentencepiece-bpe", "unigram"])
def test_the_runtime_tokenizer_gives_the_pieces_and_lookup_of_transformers(path, tmp_path):
    """The serving runtime reads tokenizer.json with ``tokenizers`` alone: same pieces, same student ids."""
    need_shared()
    from xtremedistil_ner.runtime.features import piece_lookup
    from xtremedistil_ner.runtime.onnx import load_bare_tokenizer
    from xtremedistil_ner.student.vocab import StudentVocab
    from xtremedistil_ner.tokenizer_files import load_tokenizer

    tokenizer = load_tokenizer(str(path))
    tokenizer.save_pretrained(tmp_path / "tokenizer")
    bare = load_bare_tokenizer(tmp_path)
    sentences = [*_real_sentences(40), ["x" * 300, "Jean-Paul's", "\u200b", "3.5"]]
    expected = featurize(tokenizer, sentences)
    got = featurize(bare, sentences)
    for key in ("sentence_offsets", "word_offsets", "pieces", "shapes"):
        assert np.array_equal(getattr(got, key), getattr(expected, key)), key
    assert bare.unk_token_id == tokenizer.unk_token_id
    vocab = StudentVocab.build(tokenizer, [expected], max_vocab=2_000)
    assert np.array_equal(
        piece_lookup(vocab.pieces, bare)[: tokenizer.vocab_size], vocab.lookup(tokenizer)[: tokenizer.vocab_size]
    )
