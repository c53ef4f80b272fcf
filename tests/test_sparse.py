"""The entity-sparse folder builder behind `xdner bench sparse`."""

from __future__ import annotations

import pytest

from xtremedistil_ner.bench.sparse import entity_free, entity_share, sparsify, to_tsv
from xtremedistil_ner.data.readers import read_labeled
from xtremedistil_ner.data.records import Sentence
from xtremedistil_ner.errors import XdnerError


def _s(text: str, tags: str) -> Sentence:
    return Sentence(tuple(text.split()), tuple(tags.split()), "da")


CORPUS = [
    _s("Anna bor i Aarhus nu", "B-PER O O B-LOC O"),
    _s("Det er en by i Jylland", "O O O O O B-LOC"),
    _s("Novo Nordisk har salg", "B-ORG I-ORG O O"),
    _s("Han spiller for FC Midtjylland i år", "O O O B-ORG I-ORG O O"),
    _s("Peter Hansen", "B-PER I-PER"),
    _s("Vejret var godt i går", "O O O O O"),
]


def test_entity_free_cuts_entity_spans() -> None:
    assert entity_free(CORPUS[3]) == ("Han", "spiller", "for", "i", "år")
    assert entity_free(CORPUS[4]) == ()


def test_sparsify_keeps_dense_sentences_whole_and_fills_with_entity_free_text() -> None:
    out = sparsify(CORPUS, size=3, dense=1, join=2, seed=0)
    assert len(out) == 3
    whole = [s for s in out if s.tags and any(t != "O" for t in s.tags)]
    assert len(whole) == 1 and whole[0] in CORPUS
    fillers = [s for s in out if s not in whole]
    source_words = {w for s in CORPUS for w in entity_free(s)}
    for s in fillers:
        assert s.tags == ("O",) * len(s.tokens) and set(s.tokens) <= source_words
    assert 0 < entity_share(out) < entity_share(CORPUS)


def test_sparsify_says_what_is_missing() -> None:
    with pytest.raises(XdnerError, match="need 1 and 8"):
        sparsify(CORPUS, size=5, dense=1, join=2, seed=0)


def test_tsv_round_trips_through_the_reader(tmp_path) -> None:
    path = tmp_path / "train.tsv"
    path.write_text(to_tsv(CORPUS), encoding="utf-8")
    assert read_labeled(path, "da") == CORPUS
