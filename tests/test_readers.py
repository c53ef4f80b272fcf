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
        ("a b\tO B-XYZ!\n", "'B-XYZ!' after the tab is not a tag"),
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


UNER = """# sent_id = en_ewt-ud-train-v2-0
# text = Al-Zaman : American forces killed Shaikh Abdullah al-Ani.
1\tAl\tB-ORG\t-\t-
2\t-\tI-ORG\t-\t-
3\tZaman\tI-ORG\t-\t-
4\t:\tO\t-\t-
5\tShaikh\tB-PER\tx\ty
6\t#\tO\t-\t-

# sent_id = en_ewt-ud-train-v2-1
# text = In Qaim.
1\tIn\tO\t-\t-
2\tQaim\tB-LOC\t-\t-
3-4\tdu\tO\t-\t-
3\tde\tO\t-\t-
4\tle\tB-OTH\t-\t-
"""


def test_universal_ner_iob2_comments_id_column_and_extra_columns(tmp_path):
    path = write(tmp_path, UNER, "en_ewt-ud-train.iob2")
    assert detect_format(path, "en") == "iob2"
    got = read_labeled(path, "en")
    assert [s.tokens for s in got] == [("Al", "-", "Zaman", ":", "Shaikh", "#"), ("In", "Qaim", "de", "le")]
    assert got[0].tags == ("B-ORG", "I-ORG", "I-ORG", "O", "B-PER", "O")
    assert got[1].tags == ("O", "B-LOC", "O", "B-OTH")
    as_named = write(tmp_path, UNER, "train.txt")  # decided by content, not by the extension
    assert read_labeled(as_named, "en") == got


def test_conll2002_latin1_docstart_and_misc(tmp_path):
    text = (
        "-DOCSTART- -DOCSTART- O\nSao NC B-LOC\nPaulo VMI I-LOC\n( Fpa O\nBrasil NC B-LOC\n\nEl DA O\nEFE NC B-ORG\n"
    )
    text += "\nCaf\u00e9 NC B-MISC\nJos\u00e9 NC B-PER\n"
    path = write(tmp_path, text.encode("latin-1"), "esp.train")
    with pytest.raises(DataError, match=r"not UTF-8 \(byte 0xe9 at column 4\) \(set data.encoding"):
        read_labeled(path, "es")
    got = read_labeled(path, "es", encoding="latin-1")
    assert [s.tokens for s in got] == [("Sao", "Paulo", "(", "Brasil"), ("El", "EFE"), ("Caf\u00e9", "Jos\u00e9")]
    assert got[2].tags == ("B-MISC", "B-PER")


def test_conll2003_four_columns_take_the_last_tag_column(tmp_path):
    path = write(tmp_path, "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\n\n1 CD B-NP O\n")
    assert detect_format(path, "en") == "conll"
    got = read_labeled(path, "en")
    assert got[0].tags == ("B-ORG", "O", "B-MISC") and got[1].tokens == ("1",)


@pytest.mark.parametrize(
    "text",
    [
        "1\tAl\tNNP\t_\n2\tZaman\tNNP\t_\n",  # a POS file: no column holds tags
        "# text = a\n1\tAl\tNNP\t-\t-\n",  # UNER-like comments and ids, but no tags in column 3
    ],
)
def test_a_file_without_a_tag_column_is_a_format_problem_naming_the_columns(tmp_path, text):
    path = write(tmp_path, text, "train.iob2")
    with pytest.raises(DataError) as info:
        read_labeled(path, "en")
    message = str(info.value)
    assert "format problem" in message and "'NNP'" in message and "'Al'" in message
    assert "repair" not in message


def test_unknown_encoding_is_a_clear_error():
    from xtremedistil_ner.data.readers import check_encoding

    assert check_encoding("Latin-1") == "iso8859-1"
    with pytest.raises(ValueError, match="unknown encoding 'latin-9000'"):
        check_encoding("latin-9000")
