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
    out, rest = sparsify(CORPUS, size=3, dense=1, join=2, seed=0)
    assert len(out) == 3
    whole = [s for s in out if s.tags and any(t != "O" for t in s.tags)]
    assert len(whole) == 1 and whole[0] in CORPUS
    fillers = [s for s in out if s not in whole]
    source_words = {w for s in CORPUS for w in entity_free(s)}
    for s in fillers:
        assert s.tags == ("O",) * len(s.tokens) and set(s.tokens) <= source_words
    assert 0 < entity_share(out) < entity_share(CORPUS)
    assert all(s in CORPUS and s not in whole for s in rest)


def test_sparsify_rest_is_the_unused_tail() -> None:
    """The rest shares no word with the folder (every word here belongs to one sentence) and is what is left."""
    texts = [_s(f"a{i} b{i} E{i}", "O O B-PER") for i in range(30)] + [_s(f"P{i}", "B-PER") for i in range(10)]
    out, rest = sparsify(texts, size=5, dense=2, join=2, seed=0)
    folder_words = {w for s in out for w in s.tokens}
    assert rest and not any(set(s.tokens) & folder_words for s in rest)
    # 2 kept + 6 cut into fragments; all-entity sentences skipped before the last fragment are not in the rest
    assert 40 - 2 - 6 - 10 <= len(rest) <= 40 - 2 - 6


def test_sparsify_says_what_is_missing() -> None:
    with pytest.raises(XdnerError, match="need 1 and 8"):
        sparsify(CORPUS, size=5, dense=1, join=2, seed=0)


def test_tsv_round_trips_through_the_reader(tmp_path) -> None:
    path = tmp_path / "train.tsv"
    path.write_text(to_tsv(CORPUS), encoding="utf-8")
    assert read_labeled(path, "da") == CORPUS


def test_sparse_folder_with_raw_text_feeds_the_transfer_set(tmp_path) -> None:
    """--raw N: N unused train sentences, unlabeled, in <lang>/raw.txt; data.raw_text adds them to the transfer."""
    from xtremedistil_ner.bench.sparse import SparseSpec, write_sparse_folder
    from xtremedistil_ner.config import DataConfig
    from xtremedistil_ner.data.corpus import load_corpus

    src = tmp_path / "src"
    (src / "da").mkdir(parents=True)
    for split in ("train", "dev", "test"):
        (src / "da" / f"{split}.tsv").write_text(to_tsv(CORPUS * (8 if split == "train" else 10)), encoding="utf-8")
    out = tmp_path / "sparse"
    stats = write_sparse_folder(src, SparseSpec("da", size=20, dense=4, join=1, raw=5, seed=0), out)
    raw_lines = (out / "da" / "raw.txt").read_text(encoding="utf-8").splitlines()
    assert len(raw_lines) == 5 == stats["raw"]["sentences"]
    corpus_lines = {" ".join(s.tokens) for s in CORPUS}
    assert set(raw_lines) <= corpus_lines  # whole sentences, untouched
    cfg = DataConfig(data_dir=str(out), raw_text=str(out / "{lang}" / "raw.txt"), max_transfer_per_lang=3)
    data = load_corpus(cfg, ("da",)).languages["da"]
    # the folder's train text (capped at 3) and then every raw line, all without labels
    assert [" ".join(s.tokens) for s in data.transfer[3:]] == raw_lines and len(data.transfer) == 3 + 5
    assert all(s.tags is None for s in data.transfer)
    like = write_sparse_folder(src, SparseSpec("da", size=20, dense=4, join=1, raw=10, raw_like_folder=True), out)
    # 10 lines, 2 of them whole sentences (the folder's 4 in 20), the rest entity-free fragments
    assert like["raw"]["sentences"] == 10 and 0 < like["raw"]["entity_share"] < stats["raw"]["entity_share"]
    with pytest.raises(XdnerError, match="left for --raw"):
        write_sparse_folder(src, SparseSpec("da", size=20, dense=4, join=1, raw=50, seed=0), out)


def test_missing_raw_text_file_names_the_file(tmp_path, tiny_data) -> None:
    from xtremedistil_ner.config import DataConfig
    from xtremedistil_ner.data.corpus import load_corpus
    from xtremedistil_ner.errors import DataError

    with pytest.raises(DataError, match="raw_text file for de not found") as err:
        load_corpus(DataConfig(data_dir=str(tiny_data), raw_text=str(tmp_path / "{lang}.txt")), ("de",))
    assert "de.txt" in str(err.value)


def test_the_sparse_run_reads_only_its_folder_and_raw_lines(tmp_path) -> None:
    """The bench distils its folder as a user's: no unlabeled_dir (WikiANN's own text would stand in for --raw)."""
    from xtremedistil_ner.bench.sparse import SparseSpec, sparse_data_config
    from xtremedistil_ner.config import DataConfig

    cfg = DataConfig(unlabeled_dir="../shared/data/wikiann", augment=7)
    data = sparse_data_config(cfg, tmp_path, SparseSpec("da", raw=5))
    assert (data.data_dir, data.langs, data.unlabeled_dir, data.augment) == (str(tmp_path / "data"), "da", "", 7)
    assert data.raw_text == str(tmp_path / "data" / "{lang}" / "raw.txt")
    assert sparse_data_config(cfg, tmp_path, SparseSpec("da")).raw_text == ""
