"""Hugging Face datasets on disk as data: save_to_disk folders, parquet and JSON lines, label names from features."""

import json
import shutil

import pytest
from datasets import ClassLabel, Dataset, DatasetDict, Features, Sequence, Value
from typer.testing import CliRunner

from xtremedistil_ner.cli import app
from xtremedistil_ner.data.readers import find_split, read_labeled
from xtremedistil_ner.errors import DataError

from .conftest import ROOT, need_shared

NAMES = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
FEATURES = Features({"tokens": Sequence(Value("string")), "ner_tags": Sequence(ClassLabel(names=NAMES))})


def _rows(tiny_data, split):
    sentences = read_labeled(tiny_data / "de" / f"{split}.tsv", "de")
    return {
        "tokens": [list(s.tokens) for s in sentences],
        "ner_tags": [[NAMES.index(t) for t in s.tags] for s in sentences],
    }


def _save_dict(tiny_data, target):
    splits = {"train": "train", "validation": "dev", "test": "test"}  # the Hub's split names
    DatasetDict(
        {hf: Dataset.from_dict(_rows(tiny_data, ours), features=FEATURES) for hf, ours in splits.items()}
    ).save_to_disk(str(target))


def test_save_to_disk_folder_reads_with_label_names(tmp_path, tiny_data):
    _save_dict(tiny_data, tmp_path / "de")
    assert find_split(tmp_path, "de", "dev") == tmp_path / "de" / "validation"
    got = read_labeled(find_split(tmp_path, "de", "train"), "de")
    want = read_labeled(tiny_data / "de" / "train.tsv", "de")
    assert [(s.tokens, s.tags) for s in got] == [(s.tokens, s.tags) for s in want]


def test_parquet_keeps_names_and_jsonl_takes_string_tags(tmp_path, tiny_data):
    want = read_labeled(tiny_data / "de" / "test.tsv", "de")
    (tmp_path / "de").mkdir()
    Dataset.from_dict(_rows(tiny_data, "test"), features=FEATURES).to_parquet(str(tmp_path / "de" / "test.parquet"))
    got = read_labeled(find_split(tmp_path, "de", "test"), "de")
    assert [s.tags for s in got] == [s.tags for s in want]
    lines = [json.dumps({"words": list(s.tokens), "tags": list(s.tags)}) for s in want]
    (tmp_path / "de" / "dev.jsonl").write_text("\n".join(lines) + "\n")
    assert [s.tags for s in read_labeled(find_split(tmp_path, "de", "dev"), "de")] == [s.tags for s in want]


def test_numbers_without_label_names_and_missing_columns_are_clear_errors(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text(json.dumps({"tokens": ["Anna", "lacht"], "ner_tags": [1, 0]}) + "\n")
    with pytest.raises(DataError, match="holds numbers but the dataset's features name no labels"):
        read_labeled(path, "de")
    path.write_text(json.dumps({"text": "Anna lacht", "ner_tags": ["B-PER", "O"]}) + "\n")
    with pytest.raises(DataError, match="no words column: expected one of tokens, words"):
        read_labeled(path, "de")
    path.write_text(json.dumps({"tokens": ["Anna", "lacht"], "ner_tags": ["B-PER"]}) + "\n")
    with pytest.raises(DataError, match="row 1: 2 words but 1 tags"):
        read_labeled(path, "de")


def test_a_tiny_save_to_disk_dataset_trains_and_evaluates(tmp_path, tiny_data, monkeypatch):
    need_shared()
    _save_dict(tiny_data, tmp_path / "data" / "de")
    shutil.copytree(tiny_data / "hi", tmp_path / "data" / "hi")  # formats may differ per language
    monkeypatch.chdir(ROOT)
    out = tmp_path / "run"
    runner = CliRunner()
    args = ["--recipe", "smoke", "--data", str(tmp_path / "data"), "--langs", "de,hi", "--out", str(out)]
    result = runner.invoke(app, ["distill", *args])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["languages"]["de"]["status"] == "ok"
    assert report["languages"]["de"]["sentences"]["train_full"] == 5
    checked = runner.invoke(app, ["data", "check", "--data", str(tmp_path / "data"), "--langs", "de"])
    assert checked.exit_code == 0 and "ready to train" in checked.output, checked.output
