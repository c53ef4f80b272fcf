import json
import re
import subprocess
import sys

import pytest
from seqeval.metrics.sequence_labeling import get_entities
from typer.testing import CliRunner

from xtremedistil_ner.cli import app
from xtremedistil_ner.data.tags import bio_spans
from xtremedistil_ner.errors import XdnerError
from xtremedistil_ner.runtime.predict import entities_of
from xtremedistil_ner.runtime.words import split_words
from xtremedistil_ner.serve.load import load_tagger

from .conftest import ROOT

runner = CliRunner()
TEXTS = [
    "Angela Merkel besuchte am Montag Paris und traf Emmanuel Macron .",
    "",
    "नरेंद्र मोदी ने दिल्ली में कहा।",
    "The United Nations met in New York City on Jean-Paul's 3.5 km walk.",
]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Barack Obama visited Paris, didn't he?", ["Barack", "Obama", "visited", "Paris", ",", "didn't", "he", "?"]),
        ("नरेंद्र मोदी ने कहा।", ["नरेंद्र", "मोदी", "ने", "कहा", "।"]),
        ("  Jean-Paul  3.5 km ", ["Jean-Paul", "3.5", "km"]),
        ("", []),
    ],
)
def test_split_words_and_offsets(text, words):
    split = split_words(text)
    assert [w.text for w in split] == words
    assert all(text[w.start : w.end] == w.text for w in split)


def test_bio_spans_equal_seqeval_entities():
    import random

    rng = random.Random(0)
    tags = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
    for _ in range(500):
        seq = [rng.choice(tags) for _ in range(rng.randint(0, 12))]
        ours = sorted((kind, start, end - 1) for start, end, kind in bio_spans(seq))
        assert ours == sorted(get_entities(seq)), seq


def test_entities_carry_character_offsets_and_mean_scores():
    text = "Angela Merkel besuchte Paris"
    words = split_words(text)
    found = entities_of(words, ["B-PER", "I-PER", "O", "B-LOC"], [0.9, 0.7, 1.0, 0.5], text)
    assert [(e.text, e.type, e.start, e.end) for e in found] == [
        ("Angela Merkel", "PER", 0, 13),
        ("Paris", "LOC", 23, 28),
    ]
    assert found[0].score == pytest.approx(0.8)


def test_a_loaded_tagger_predicts_consistent_spans(smoke_run):
    tagger = load_tagger(smoke_run / "student", runtime="pytorch")
    assert tagger.runtime == "pytorch"
    preds = tagger.predict(TEXTS, batch_size=2)
    assert [p.text for p in preds] == TEXTS
    assert preds[1].words == () and preds[1].entities == ()
    for p in preds:
        assert len(p.tags) == len(p.words) == len(split_words(p.text))
        assert [(e.first_word, e.last_word, e.type) for e in p.entities] == bio_spans(p.tags)
        for e in p.entities:
            assert p.text[e.start : e.end] == e.text and 0.0 <= e.score <= 1.0
    # batching and bucketing change nothing
    assert [p.tags for p in tagger.predict(TEXTS, batch_size=1)] == [p.tags for p in preds]
    assert tagger.predict(TEXTS[0])[0].tags == preds[0].tags


def test_unknown_runtime_and_missing_export_are_clear_errors(smoke_run, tmp_path):
    with pytest.raises(XdnerError, match="choose one of auto, onnx-int8, onnx, pytorch"):
        load_tagger(smoke_run / "student", runtime="tensorrt")
    with pytest.raises(XdnerError, match="not a student directory"):
        load_tagger(tmp_path, runtime="pytorch")


def test_cli_predict_file_and_stdin_agree(smoke_run, tmp_path):
    text_file = tmp_path / "in.txt"
    text_file.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    student = str(smoke_run / "student")
    from_file = runner.invoke(app, ["predict", student, str(text_file)])
    assert from_file.exit_code == 0, from_file.output
    lines = [json.loads(line) for line in from_file.stdout.splitlines()]
    assert [line["text"] for line in lines] == TEXTS
    # a real subprocess reading real stdin, as a user pipes text in
    piped = subprocess.run(
        [sys.executable, "-m", "xtremedistil_ner", "predict", student],
        input="\n".join(TEXTS).encode(),
        capture_output=True,
        cwd=ROOT,
        check=True,
    )
    assert [json.loads(line) for line in piped.stdout.decode().splitlines()] == lines
    conll = runner.invoke(app, ["predict", student, str(text_file), "--format", "conll", "-o", str(tmp_path / "o")])
    assert conll.exit_code == 0, conll.output
    summary = " ".join(conll.output.split())  # on stderr, after the file is written
    assert re.search(rf"sentences\W+{len(TEXTS)} \(\d+ words\)", summary) and "sentences/s" in summary
    blocks = (tmp_path / "o").read_text(encoding="utf-8").split("\n\n")
    assert blocks[0].splitlines()[0].split("\t")[0] == "Angela"


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"ok line\n\xff\xfe bad\n", "in.txt:2: not UTF-8"), (None, "no such file")],
)
def test_cli_predict_bad_input(smoke_run, tmp_path, content, message):
    path = tmp_path / "in.txt"
    if content is not None:
        path.write_bytes(content)
    result = runner.invoke(app, ["predict", str(smoke_run / "student"), str(path)])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_cli_predict_not_a_student(tmp_path):
    result = runner.invoke(app, ["predict", str(tmp_path), "-"], input="x\n")
    assert result.exit_code == 2 and "not a student directory" in result.output
