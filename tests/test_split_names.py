"""Split files found under the names they were published with: Universal NER, CoNLL-2002/2003, ``x-train.tsv``."""

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from xtremedistil_ner.cli import app
from xtremedistil_ner.config import DataConfig
from xtremedistil_ner.data.corpus import load_corpus
from xtremedistil_ner.data.readers import find_split, read_labeled
from xtremedistil_ner.errors import DataError, XdnerError

DATA = Path(__file__).parent / "data"
runner = CliRunner()


def _published_uner(tmp_path: Path) -> Path:
    """The Universal NER fixture as the repository publishes it: en_ewt-ud-<split>.iob2 beside .stats files."""
    folder = tmp_path / "uner" / "en"
    folder.mkdir(parents=True)
    for split in ("train", "dev", "test"):
        shutil.copy(DATA / "uner" / "en" / f"{split}.iob2", folder / f"en_ewt-ud-{split}.iob2")
        (folder / f"en_ewt-ud-{split}.stats").write_text('{"num_sentences": 3}\n', encoding="utf-8")
    return folder.parent


def test_universal_ner_names_are_read_as_their_splits(tmp_path):
    data = _published_uner(tmp_path)
    for split in ("train", "dev", "test"):
        path = find_split(data, "en", split)
        assert path == data / "en" / f"en_ewt-ud-{split}.iob2"
        assert read_labeled(path, "en") == read_labeled(DATA / "uner" / "en" / f"{split}.iob2", "en")
    result = runner.invoke(app, ["data", "check", "--data", str(data), "--langs", "en"])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if line.strip("│ ").startswith("en "))
    assert [c.strip() for c in row.strip("│").split("│")] == ["en", "3", "2", "1", "52", "2", "2", "2", "0", "ok"]
    shown = " ".join(result.output.split())
    assert "en: train = en_ewt-ud-train.iob2, dev = en_ewt-ud-dev.iob2, test = en_ewt-ud-test.iob2" in shown


def test_conll_testa_is_dev_and_testb_is_test(tmp_path):
    folder = tmp_path / "es"
    folder.mkdir()
    for split, name in (("train", "esp.train"), ("dev", "esp.testa"), ("test", "esp.testb")):
        shutil.copy(DATA / "conll2002" / "es" / f"{split}.txt", folder / name)
    assert find_split(tmp_path, "es", "dev") == folder / "esp.testa"
    assert find_split(tmp_path, "es", "test") == folder / "esp.testb"  # testa is not taken for test
    assert find_split(tmp_path, "es", "train") == folder / "esp.train"
    (folder / "test.txt").write_text("x O\n", encoding="latin-1")
    assert find_split(tmp_path, "es", "test") == folder / "test.txt"  # the toolkit's own name comes first


def test_two_candidates_are_an_error_that_names_both(tmp_path):
    data = _published_uner(tmp_path)
    shutil.copy(DATA / "uner" / "en" / "train.iob2", data / "en" / "en_gum-ud-train.iob2")
    with pytest.raises(DataError, match=r"2 files could be the train split \(en_ewt-ud-train.iob2, en_gum-ud-train"):
        find_split(data, "en", "train")
    result = runner.invoke(app, ["data", "check", "--data", str(data), "--langs", "en"])
    assert result.exit_code == 1 and "could be the train split" in " ".join(result.output.split())


def test_no_data_says_what_was_expected_and_what_is_there(tmp_path):
    (tmp_path / "xx").mkdir()
    (tmp_path / "xx" / "notes.stats").write_text("{}\n", encoding="utf-8")
    with pytest.raises(XdnerError, match=r"expected train.<ext> or a published name .* it holds: notes.stats"):
        load_corpus(DataConfig(data_dir=str(tmp_path)), ("xx",))
    result = runner.invoke(app, ["data", "check", "--data", str(tmp_path), "--langs", "xx"])
    assert result.exit_code == 1 and "it holds: notes.stats" in " ".join(result.output.split())
    everything = runner.invoke(app, ["data", "check", "--data", str(tmp_path)])  # --langs all: nothing anywhere
    assert everything.exit_code == 1 and "no language has a train split" in " ".join(everything.output.split())
