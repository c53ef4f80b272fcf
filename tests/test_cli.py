import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from xtremedistil_ner.cli import app

from .conftest import ROOT, need_shared

runner = CliRunner()


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["distill"],
        ["teacher"],
        ["teacher", "train"],
        ["teacher", "label"],
        ["evaluate"],
        ["languages"],
        ["predict"],
        ["export"],
        ["bench"],
        ["bench", "quality"],
        ["bench", "lowres"],
        ["bench", "memory"],
        ["bench", "speed"],
        ["report"],
        ["data", "check"],
        ["recipe", "show"],
    ],
)
def test_help_for_every_command(args):
    result = runner.invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_bad_recipe_is_one_line_error_and_exit_2(tmp_path):
    recipe = tmp_path / "bad.toml"
    recipe.write_text("[student]\nembeding_dim = 3\n")
    result = runner.invoke(app, ["distill", "--recipe", str(recipe), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert "unknown key(s) embeding_dim" in result.output
    assert "Traceback" not in result.output


def test_malformed_language_code_is_an_error(tmp_path):
    result = runner.invoke(
        app, ["distill", "--recipe", str(ROOT / "recipes/smoke.toml"), "--langs", "de,Deutsch", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2 and "not a language code: 'Deutsch'" in result.output


def _smoke(out: Path, data: Path | None = None) -> dict:
    args = ["distill", "--recipe", str(ROOT / "recipes/smoke.toml"), "--out", str(out)]
    if data is not None:
        args += ["--data", str(data)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads((out / "report.json").read_text())


def test_smoke_end_to_end_and_deterministic(tmp_path, monkeypatch):
    """The whole pipeline on real WikiANN (3 languages x a few sentences, tiny random teacher), twice."""
    need_shared()
    monkeypatch.chdir(ROOT)
    report = _smoke(tmp_path / "a")
    for name in (
        "report.json",
        "report.tsv",
        "report.md",
        "config.json",
        "student/model.safetensors",
        "teacher/model.safetensors",
        "cache/manifest.json",
    ):
        assert (tmp_path / "a" / name).is_file(), name
    assert report["languages"]["sv"]["status"] == "no data"
    for lang in ("de", "hi"):
        entry = report["languages"][lang]
        assert entry["status"] == "ok"
        for who in ("teacher", "student"):
            for key in ("precision", "recall", "f1"):
                assert 0.0 <= entry[who][key] <= 1.0
            assert entry[who]["support"] > 0
    assert next(s["name"] for s in report["stages"]) == "hidden"
    # the gold-only baseline of [eval] gold_baseline_epochs: scored per language, gain = student - gold-only
    for lang in ("de", "hi"):
        entry = report["languages"][lang]
        assert 0.0 <= entry["gold_only"]["f1"] <= 1.0
        assert entry["gain_over_gold"] == pytest.approx(entry["student"]["f1"] - entry["gold_only"]["f1"])
    macro = report["macro"]
    assert macro["gain_over_gold"] == pytest.approx(macro["student_f1"] - macro["gold_only_f1"])
    assert "gold_only_distill" in report["timings_seconds"]
    assert [s["name"] for s in report["gold_only_stages"]] == ["gold/all"]
    assert report["gold_only_stages"][0]["words_per_second"] > 0
    peaks = report["throughput"]["peak_rss_mib"]
    assert set(peaks["steps"]) == set(report["timings_seconds"]) and min(peaks["steps"].values()) > 0
    assert "| teacher_label |" in (tmp_path / "a" / "report.md").read_text()
    assert report["teacher"]["pretrained"] is False and "random init" in report["teacher"]["origin"]
    assert "gold_only_f1" in (tmp_path / "a" / "report.tsv").read_text().splitlines()[0]
    assert "gold-only student" in (tmp_path / "a" / "report.html").read_text()
    again = _smoke(tmp_path / "b")
    assert [s["dev_curve"] for s in again["stages"]] == [s["dev_curve"] for s in report["stages"]]
    assert [s["train_loss"] for s in again["stages"]] == [s["train_loss"] for s in report["stages"]]
    assert again["macro"]["gold_only_f1"] == report["macro"]["gold_only_f1"]
    # a rerun in the same directory reuses the teacher and the cache and gives the same scores
    rerun = _smoke(tmp_path / "a")
    assert rerun["macro"] == report["macro"]
    # a damaged teacher-scores file is scored again, not a crash
    (tmp_path / "a" / "teacher_test_scores.json").write_text("{not json", encoding="utf-8")
    assert _smoke(tmp_path / "a")["macro"] == report["macro"]


def test_data_flag_points_at_another_folder(tmp_path, tiny_data, monkeypatch):
    need_shared()
    monkeypatch.chdir(ROOT)
    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    report = _smoke(tmp_path / "run", data)
    assert report["languages"]["de"]["status"] == "ok"
    assert report["languages"]["hi"]["sentences"]["test_used"] == 5
    assert report["languages"]["sv"]["status"] == "no data"


@pytest.mark.parametrize(
    ("student_tokenizer", "model_type"),
    [
        ("../shared/assets/tokenizers/bert-base-multilingual-cased", "WordPiece"),
        ("../shared/assets/tokenizers/blingfire-laser-unigram-spm/laser_50k.model", "Unigram"),
    ],
)
def test_xlmr_teacher_with_a_student_tokenizer_of_its_own(tmp_path, monkeypatch, student_tokenizer, model_type):
    """Teacher and student with different tokenizers meet at words (XLM-R -> mBERT WordPiece / LASER unigram)."""
    need_shared()
    monkeypatch.chdir(ROOT)
    text = (ROOT / "recipes/smoke.toml").read_text()
    text = text.replace(
        'config = "../shared/assets/tokenizers/bert-base-multilingual-cased"',
        'config = "../shared/assets/tokenizers/xlm-roberta-base"',
    )
    text = text.replace("[student]\n", f'[student]\ntokenizer = "{student_tokenizer}"\n')
    recipe = tmp_path / "mixed.toml"
    recipe.write_text(text)
    out = tmp_path / "run"
    result = runner.invoke(app, ["distill", "--recipe", str(recipe), "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["languages"]["de"]["status"] == "ok"
    assert 0 <= report["languages"]["de"]["student"]["f1"] <= 1
    student_tok = json.loads((out / "student" / "tokenizer" / "tokenizer.json").read_text())
    assert student_tok["model"]["type"] == model_type
    assert json.loads((out / "teacher" / "config.json").read_text())["model_type"] == "xlm-roberta"
    result = runner.invoke(app, ["evaluate", str(out / "student"), "--recipe", str(recipe)])
    assert result.exit_code == 0, result.output
    assert "macro (2)" in result.output  # de and hi have test data, sv has none


def test_teacher_train_then_label_end_with_a_summary(tmp_path, monkeypatch):
    """The two teacher steps on their own: each ends with a table saying what was done and what to run next."""
    need_shared()
    monkeypatch.chdir(ROOT)
    out = tmp_path / "run"
    args = ["--recipe", "recipes/smoke.toml", "--out", str(out)]
    trained = runner.invoke(app, ["teacher", "train", *args])
    assert trained.exit_code == 0, trained.output
    text = " ".join(trained.output.split())
    assert "fine-tuned now" in text and "train sentences in 2 languages" in text and "xdner teacher label" in text
    scores = json.loads((out / "teacher_test_scores.json").read_text())["scores"]  # kept for distill to reuse
    assert scores and all(f"{lang} {100 * s['f1']:.2f}" in text for lang, s in scores.items())
    labeled = runner.invoke(app, ["teacher", "label", *args])
    assert labeled.exit_code == 0, labeled.output
    text = " ".join(labeled.output.split())
    manifest = json.loads((out / "cache" / "manifest.json").read_text())
    assert "reused (already trained)" in text and "padding" in text
    assert f"{manifest['num_sentences']:,} sentences" in text
    again = runner.invoke(app, ["teacher", "label", *args])
    assert "nothing (every shard reused)" in " ".join(again.output.split())


def test_bench_quality_rejects_an_unknown_variant_before_training(tmp_path, monkeypatch):
    need_shared()
    monkeypatch.chdir(ROOT)
    out = tmp_path / "bench"
    args = ["bench", "quality", "--recipe", "recipes/smoke.toml", "--only", "staged,tok=nope", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "unknown variant(s) tok=nope" in result.output and "tok=laser50k" in result.output
    assert not (out / "teacher").exists()


def test_languages_says_which_have_data():
    need_shared()
    result = runner.invoke(app, ["languages", "--data", str(ROOT.parent / "shared" / "data" / "wikiann")])
    assert result.exit_code == 0, result.output
    assert "39 of 41 languages have a train split" in result.output


def test_data_check_counts_and_problems(tmp_path, tiny_data):
    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    result = runner.invoke(app, ["data", "check", "--data", str(data), "--langs", "all"])
    assert result.exit_code == 0, result.output  # "all" takes the languages that are there
    assert "0 problem(s) found: ready to train" in result.output and "no data" in result.output
    named = runner.invoke(app, ["data", "check", "--data", str(data), "--langs", "de,hi,sv"])
    assert named.exit_code == 1 and "sv: " in named.output and "is not a folder" in named.output  # asked by name
    lines = (data / "hi" / "train.tsv").read_text(encoding="utf-8").splitlines()
    tokens = lines[1].split("\t")[0].split()
    lines[1] = " ".join(tokens) + "\t" + " ".join(["O"] * (len(tokens) - 1) + ["I-PER"])  # I-PER after O
    lines[2] = " ".join(lines[1].split("\t")[0].split()) + "\t" + lines[1].split("\t")[1]  # a second sentence
    (data / "hi" / "train.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    repaired = runner.invoke(app, ["data", "check", "--data", str(data), "--langs", "hi"])
    assert repaired.exit_code == 0, repaired.output  # a run repairs these: not a problem that stops it
    text = " ".join(repaired.output.split())
    assert "2 entities opened by I- without B- in 2 sentence(s), the first at" in text
    assert "train.tsv:2 (I-PER after O at word" in text and "'repair', the default" in text
    assert "0 problem(s) found" in text
    (data / "de" / "test.tsv").unlink()
    result = runner.invoke(app, ["data", "check", "--data", str(data), "--langs", "de,hi", "--invalid-bio", "error"])
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "missing split 'test'" in text and "a run stops at the first" in text and "2 problem(s) found" in text


def test_recipe_show_resolves_defaults_and_overrides():
    result = runner.invoke(app, ["recipe", "show", str(ROOT / "recipes" / "smoke.toml"), "--set", "distill.lr=0.01"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["distill"]["lr"] == 0.01 and shown["teacher"]["cache_shard_size"] == 4096
    bad = runner.invoke(app, ["recipe", "show", str(ROOT / "recipes" / "smoke.toml"), "--set", "distill.nope=1"])
    assert bad.exit_code == 2 and "unknown key(s) nope" in bad.output


def test_zero_shot_language_is_scored_from_raw_text_only(tmp_path, monkeypatch):
    """`data.zero_shot_langs`: hi keeps its test and transfer text; no hi label trains or selects anything."""
    need_shared()
    monkeypatch.chdir(ROOT)
    out = tmp_path / "zs"
    args = ["distill", "--recipe", "recipes/smoke.toml", "--out", str(out), "--set", "data.zero_shot_langs=hi"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    hi, de = report["languages"]["hi"], report["languages"]["de"]
    assert hi["zero_shot"] is True and de["zero_shot"] is False
    assert hi["sentences"]["train_used"] == 0 and hi["sentences"]["dev_used"] == 0
    assert hi["sentences"]["transfer"] > 0 and hi["student"]["support"] > 0
    zero = report["macro"]["zero_shot"]
    assert zero["languages"] == 1 and zero["student_f1"] == hi["student"]["f1"]
    assert "zero-shot" in (out / "report.tsv").read_text()


DATA = Path(__file__).parent / "data"


def test_data_check_reads_universal_ner_and_latin1_conll2002_as_published():
    """Counts of the fixture files written in each real format: every type gets a column, OTH and MISC too."""
    uner = runner.invoke(app, ["data", "check", "--data", str(DATA / "uner"), "--langs", "en"])
    assert uner.exit_code == 0, uner.output
    row = next(line for line in uner.output.splitlines() if line.strip("│ ").startswith("en "))
    assert [c.strip() for c in row.strip("│").split("│")] == ["en", "3", "2", "1", "52", "2", "2", "2", "0", "ok"]
    assert "OTH" in uner.output
    conll = DATA / "conll2002"
    wrong = runner.invoke(app, ["data", "check", "--data", str(conll), "--langs", "es"])
    assert wrong.exit_code == 1 and "not UTF-8 (byte 0xf3" in wrong.output and "--encoding" in wrong.output
    ok = runner.invoke(app, ["data", "check", "--data", str(conll), "--langs", "es", "--encoding", "latin-1"])
    assert ok.exit_code == 0, ok.output
    row = next(line for line in ok.output.splitlines() if line.strip("│ ").startswith("es "))
    assert [c.strip() for c in row.strip("│").split("│")] == ["es", "3", "1", "2", "52", "2", "1", "2", "1", "ok"]
    assert "MISC" in ok.output
    bad = runner.invoke(app, ["data", "check", "--data", str(conll), "--encoding", "latin-9000"])
    assert bad.exit_code == 2 and "unknown encoding 'latin-9000'" in bad.output


def test_distill_on_universal_ner_and_latin1_conll_with_different_label_sets(tmp_path, monkeypatch):
    """One run over en (Universal NER .iob2, has OTH) and es (CoNLL-2002 in latin-1, has MISC): one tag set for
    the student, every type scored and reported, the report says which types each language has."""
    need_shared()
    data = tmp_path / "data"
    shutil.copytree(DATA / "uner" / "en", data / "en")
    shutil.copytree(DATA / "conll2002" / "es", data / "es")
    monkeypatch.chdir(ROOT)
    out = tmp_path / "run"
    args = ["distill", "--recipe", "recipes/smoke.toml", "--data", str(data), "--langs", "en,es", "--out", str(out)]
    result = runner.invoke(app, [*args, "--encoding", "latin-1", "--set", "data.max_train_per_lang=0"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["entity_types"] == ["PER", "ORG", "LOC", "MISC", "OTH"]
    assert report["languages"]["en"]["types"] == ["PER", "ORG", "LOC", "OTH"]
    assert report["languages"]["es"]["types"] == ["PER", "ORG", "LOC", "MISC"]
    tags = json.loads((out / "student" / "tags.json").read_text())["tags"]
    assert {"B-MISC", "I-MISC", "B-OTH", "I-OTH"} <= set(tags)
    for code, gold in (("es", {"ORG", "LOC", "MISC"}), ("en", {"ORG", "OTH"})):  # the test sets' types
        per_type = report["languages"][code]["student"]["per_type"]
        assert {t for t, v in per_type.items() if v["support"] > 0} == gold
    markdown = (out / "report.md").read_text()
    assert "PER, ORG, LOC, MISC, OTH (en has no MISC; es has no OTH)" in markdown
    assert "PER, ORG, LOC, MISC, OTH" in (out / "student" / "README.md").read_text()
    # evaluate reads only the test split, in the folder's encoding, and scores what the run scored
    (data / "es" / "train.txt").write_bytes(b"\xff\xfe broken\n")  # never opened when scoring test
    scored = runner.invoke(app, ["evaluate", str(out / "student"), "--data", str(data), "--encoding", "latin-1"])
    assert scored.exit_code == 0, scored.output
    for code in ("en", "es"):
        row = next(line for line in scored.output.splitlines() if line.strip("│ ").startswith(f"{code} "))
        f1 = float([c.strip() for c in row.strip("│").split("│")][3])
        assert f1 == pytest.approx(100 * report["languages"][code]["student"]["f1"], abs=0.006)
    assert "macro (2)" in scored.output
    utf8 = runner.invoke(app, ["evaluate", str(out / "student"), "--data", str(data), "--langs", "es"])
    assert utf8.exit_code == 2 and "not UTF-8" in utf8.output and "test.txt" in utf8.output


def test_a_language_outside_the_41_trains_and_is_named_by_its_code(tmp_path, monkeypatch):
    need_shared()
    data = tmp_path / "data"
    shutil.copytree(DATA / "tiny" / "de", data / "zh")
    monkeypatch.chdir(ROOT)
    out = tmp_path / "run"
    result = runner.invoke(
        app, ["distill", "--recipe", "recipes/smoke.toml", "--data", str(data), "--langs", "zh", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["languages"]["zh"]["status"] == "ok" and report["languages"]["zh"]["name"] == "zh"
    assert "- zh" in (out / "student" / "README.md").read_text()
