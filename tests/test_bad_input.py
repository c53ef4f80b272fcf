"""The bad-input table (README): each row is a real CLI run that must fail with one line naming the file,
the line where there is one, and the problem; exit code 2; no traceback; nothing half-written left behind."""

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from xtremedistil_ner.cli import app

from .conftest import ROOT, need_shared

runner = CliRunner()


def _recipe(tmp_path: Path, data: Path, extra: str = "") -> Path:
    text = (ROOT / "recipes" / "smoke.toml").read_text()
    text = text.replace('data_dir = "../shared/data/wikiann"', f'data_dir = "{data}"').replace(
        'langs = "de,hi,sv"', 'langs = "de,hi,tr"'
    )
    path = tmp_path / "recipe.toml"
    path.write_text(text + extra)
    return path


def _data(tmp_path: Path, tiny_data: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    return data


def _append(path: Path, content: bytes) -> None:
    path.write_bytes(path.read_bytes() + content)


def _no_half_written(out: Path) -> None:
    leftovers = [p for p in out.rglob("*") if p.name.endswith(".tmp")] if out.exists() else []
    assert not leftovers, leftovers
    assert not (out / "report.json").exists()


# row name -> (how to break the input, expected message parts, whether the message names a line)
ROWS = {
    "tokens/tags count mismatch": (lambda d: _append(d / "de/train.tsv", b"a b c\tO O\n"), ["3 tokens but 2 tags"], 6),
    "malformed tag": (
        lambda d: _append(d / "de/train.tsv", b"a b\tO B-XYZ!\n"),
        ["format problem", "is not a tag"],
        6,
    ),
    "non-UTF-8 bytes": (lambda d: _append(d / "hi/dev.tsv", b"caf\xe9\tO\n"), ["not UTF-8"], 6),
    "empty file": (lambda d: (d / "tr/test.tsv").write_bytes(b""), ["empty file"], None),
    "missing split": (lambda d: (d / "de/test.tsv").unlink(), ["missing split 'test'"], None),
}


@pytest.mark.parametrize("row", list(ROWS))
def test_bad_data_row(row, tmp_path, tiny_data):
    need_shared()
    data = _data(tmp_path, tiny_data)
    breaker, parts, line = ROWS[row]
    breaker(data)
    out = tmp_path / "run"
    result = runner.invoke(app, ["distill", "--recipe", str(_recipe(tmp_path, data)), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    (message,) = [line for line in result.output.splitlines() if line.startswith("error:")]  # one line
    assert all(p in message for p in parts), message
    assert str(data) in message
    if line is not None:
        assert f":{line}:" in message
    _no_half_written(out)


def test_invalid_bio_is_repaired_by_default_and_an_error_on_request(tmp_path, tiny_data):
    need_shared()
    data = _data(tmp_path, tiny_data)
    _append(data / "de/train.tsv", b"a b c\tO I-PER I-PER\n")
    recipe = _recipe(tmp_path, data)
    repaired = runner.invoke(app, ["distill", "--recipe", str(recipe), "--out", str(tmp_path / "repaired")])
    assert repaired.exit_code == 0, repaired.output
    recipe.write_text(recipe.read_text().replace("[data]\n", '[data]\ninvalid_bio = "error"\n'))
    result = runner.invoke(app, ["distill", "--recipe", str(recipe), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and "I-PER after O" in result.output and ":6:" in result.output


def test_blank_lines_and_trailing_whitespace_are_fine(tmp_path, tiny_data):
    need_shared()
    data = _data(tmp_path, tiny_data)
    _append(data / "de/train.tsv", b"\n\n  \nx y \tO B-LOC  \r\n\n")
    out = tmp_path / "run"
    result = runner.invoke(app, ["distill", "--recipe", str(_recipe(tmp_path, data)), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "report.json").read_text())["languages"]["de"]["sentences"]["train_full"] == 6


def test_malformed_language_code(tmp_path, tiny_data):
    data = _data(tmp_path, tiny_data)
    result = runner.invoke(
        app, ["distill", "--recipe", str(_recipe(tmp_path, data)), "--langs", "de,d3", "--out", str(tmp_path / "r")]
    )
    assert result.exit_code == 2 and "not a language code: 'd3'" in result.output


def test_empty_transfer_file(tmp_path, tiny_data):
    need_shared()
    data = _data(tmp_path, tiny_data)
    (data / "unlabeled").mkdir()
    for lang in ("de", "hi", "tr"):
        (data / "unlabeled" / f"{lang}.txt").write_text("ein Satz .\n" if lang != "hi" else "\n\n")
    recipe = _recipe(tmp_path, data)
    recipe.write_text(recipe.read_text().replace("[data]\n", f'[data]\ntransfer = "{data}/unlabeled/{{lang}}.txt"\n'))
    out = tmp_path / "run"
    result = runner.invoke(app, ["distill", "--recipe", str(recipe), "--out", str(out)])
    assert result.exit_code == 2 and "empty transfer file" in result.output and "hi.txt" in result.output
    _no_half_written(out)


@pytest.mark.parametrize(
    ("text", "part"),
    [("[student]\nembeding_dim = 3\n", "unknown key"), ("[student]\nhidden_size = 'x'\n", "expected int")],
)
def test_recipe_unknown_key_or_wrong_type(tmp_path, text, part):
    recipe = tmp_path / "bad.toml"
    recipe.write_text(text)
    result = runner.invoke(app, ["distill", "--recipe", str(recipe), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and part in result.output and str(recipe) in result.output


def _copy_run(smoke_run: Path, tmp_path: Path) -> Path:
    out = tmp_path / "run"
    shutil.copytree(smoke_run, out)
    (out / "report.json").unlink()
    return out


def test_corrupt_or_truncated_cache_shard(smoke_run, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    out = _copy_run(smoke_run, tmp_path)
    shard = sorted((out / "cache").glob("shard-*.safetensors"))[0]
    shard.write_bytes(shard.read_bytes()[:-100])
    result = runner.invoke(app, ["distill", "--recipe", "recipes/smoke.toml", "--out", str(out)])
    assert result.exit_code == 2 and "checksum" in result.output and shard.name in result.output
    _no_half_written(out)


def test_teacher_label_set_differs_from_the_data(smoke_run, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    out = _copy_run(smoke_run, tmp_path)
    tags = out / "teacher" / "tags.json"
    tags.write_text(json.dumps({"tags": ["O", "B-PER", "I-PER", "B-MISC", "I-MISC"]}))
    result = runner.invoke(app, ["distill", "--recipe", "recipes/smoke.toml", "--out", str(out)])
    assert result.exit_code == 2 and "differ from the data's" in result.output and "teacher" in result.output
    _no_half_written(out)


def test_checkpoint_from_an_incompatible_version(smoke_run, tmp_path):
    student = tmp_path / "student"
    shutil.copytree(smoke_run / "student", student)
    config = json.loads((student / "config.json").read_text())
    config["xdner_version"] = 99
    (student / "config.json").write_text(json.dumps(config))
    for args in (["predict", str(student), "-"], ["evaluate", str(student), "--recipe", "recipes/smoke.toml"]):
        result = runner.invoke(app, args, input="x\n")
        assert result.exit_code == 2 and "checkpoint version 99 is not supported" in result.output
