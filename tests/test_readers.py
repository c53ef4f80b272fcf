from pathlib import Path

import pytest

from xtremedistil_ner.data.readers import detect_format, read_labeled, read_transfer_text
from xtremedistil_ner.errors import DataError


def write(tmp_path: Path, text: str | bytes, name: str = "train.tsv") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def test_sentence_per_line_tsv(tiny_data):
    sentences = read_labeled(tiny_data / "de" / "train.tsv", "de")
    assert len(sentences) == 5
    assert sentences[0].tokens[:2] == ("Angela", "Merkel")
    assert sentences[0].tags[:2] == ("B-PER", "I-PER")
    assert {s.lang for s in sentences} == {"de"}


def test_conll_columns_and_prefix(tmp_path):
    conll = write(tmp_path, "Angela NNP B-PER\nMerkel NNP I-PER\n\nBerlin NNP B-LOC\n", "a.conll")
    assert detect_format(conll, "de") == "conll"
    got = read_labeled(conll, "de")
    assert [s.tokens for s in got] == [("Angela", "Merkel"), ("Berlin",)]
    prefixed = write(tmp_path, "de:Angela\tB-PER\nde:Merkel\tI-PER\nde::\tO\n\nde:Bonn\tB-LOC\n", "b.txt")
    assert detect_format(prefixed, "de") == "prefix"
    got = read_labeled(prefixed, "de")
    assert got[0].tokens == ("Angela", "Merkel", ":")
    assert got[1].tokens == ("Bonn",)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("a b c\tO O\n", "3 tokens but 2 tags"),
        ("a b\tO B-XYZ!\n", "invalid BIO"),
        (b"caf\xe9 ok\tO O\n", "not UTF-8"),
        ("", "empty file"),
        ("a b\n", "no tab"),
    ],
)
def test_bad_input_names_file_line_and_problem(tmp_path, content, message):
    head = b"x y\tO O\n"
    path = write(tmp_path, head + (content if isinstance(content, bytes) else content.encode()) if content else b"")
    with pytest.raises(DataError) as info:
        read_labeled(path, "de", fmt="tsv" if content else "auto")
    text = str(info.value)
    assert message in text
    assert str(path) in text
    if content:
        assert f"{path}:2:" in text


def test_invalid_bio_error_or_repair(tmp_path):
    path = write(tmp_path, "a b c\tO I-PER I-PER\n")
    with pytest.raises(DataError, match="I-PER after O"):
        read_labeled(path, "de", invalid_bio="error")
    assert read_labeled(path, "de", invalid_bio="repair")[0].tags == ("O", "B-PER", "I-PER")


def test_blank_lines_and_trailing_whitespace_are_tolerated(tmp_path):
    path = write(tmp_path, "\na b \tO B-LOC  \r\n\n\nc\tO\n\n")
    assert [s.tokens for s in read_labeled(path, "de", fmt="tsv")] == [("a", "b"), ("c",)]


def test_transfer_text(tmp_path, tiny_data):
    sentences = read_transfer_text(tiny_data.parent / "transfer_de.txt", "de")
    assert len(sentences) == 20 and sentences[0].tags is None
    with pytest.raises(DataError, match="empty transfer file"):
        read_transfer_text(write(tmp_path, "\n\n", "t.txt"), "de")
