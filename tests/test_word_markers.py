import pytest

from xtremedistil_ner.data.records import Sentence
from xtremedistil_ner.data.tags import TagVocab
from xtremedistil_ner.teacher import IGNORE_INDEX, bare_piece_ids, encode
from xtremedistil_ner.word_markers import is_unspaced, join_unspaced

TAGS = TagVocab.from_types(["PER", "ORG", "LOC"])
# a UNER Chinese-GSDSIMP-style sentence: words given, no spaces in the script
CHINESE = Sentence(
    ("看似", "简单", "，", "他们", "在", "北京", "iPhone", "代表"), ("O",) * 5 + ("B-LOC", "O", "O"), "zh"
)


@pytest.mark.parametrize(
    ("word", "unspaced"),
    [
        ("北京", True),
        ("，", True),
        ("「", True),
        ("カタカナ", True),
        ("กรุงเทพ", True),
        ("Tokyo", False),
        ("서울", False),
        ("Москва", False),
        ("", False),
    ],
)
def test_scripts_written_without_spaces(word, unspaced):
    assert is_unspaced(word) is unspaced


def test_unspaced_words_lose_their_markers_and_others_keep_them(xlmr_tokenizer):
    tok = xlmr_tokenizer
    enc = tok([list(CHINESE.tokens)], is_split_into_words=True, add_special_tokens=False)
    ids, word_ids = enc["input_ids"][0], enc.word_ids(0)
    bare = bare_piece_ids(tok)
    assert sum(i in bare for i in ids) >= 3  # what the tokenizer gives: a bare ▁ before most Chinese words

    joined, joined_words = join_unspaced(ids, word_ids, CHINESE.tokens, bare)
    pieces = tok.convert_ids_to_tokens(joined)
    assert len(joined) < len(ids)
    chinese = [p for p, w in zip(pieces, joined_words, strict=True) if is_unspaced(CHINESE.tokens[w])]
    assert "▁" not in chinese, chinese
    assert sorted(set(joined_words)) == list(range(len(CHINESE.tokens)))  # every word keeps a piece
    latin = [p for p, w in zip(pieces, joined_words, strict=True) if CHINESE.tokens[w] == "iPhone"]
    original = [p for p, w in zip(tok.convert_ids_to_tokens(ids), word_ids, strict=True) if w == 6]
    assert latin == original and latin[0].startswith("▁")
    # the joined pieces of each Chinese word spell it (after the tokenizer's normalization of "，")
    assert "".join(p for p, w in zip(pieces, joined_words, strict=True) if w == 5).removeprefix("▁") == "北京"


def test_a_word_of_only_a_bare_marker_keeps_it():
    # ids: 1 = bare ▁; word 0 is the marker alone (its content unknown to the vocabulary would be UNK otherwise)
    ids, words = join_unspaced([1, 1, 7], [0, 1, 1], ("北", "京"), {1})
    assert ids == [1, 7] and words == [0, 1]


def test_encode_labels_joined_words_on_a_real_piece(xlmr_tokenizer):
    (plain,) = encode(xlmr_tokenizer, [CHINESE], 64, TAGS)
    (joined,) = encode(xlmr_tokenizer, [CHINESE], 64, TAGS, join_unspaced=True)
    assert len(joined.input_ids) < len(plain.input_ids)
    assert sum(joined.skip) == 0  # no bare marker left to pass over
    labelled = [i for i, label in enumerate(joined.labels) if label != IGNORE_INDEX]
    assert [joined.word_index[i] for i in labelled] == list(range(len(CHINESE.tokens)))
    assert [joined.labels[i] for i in labelled] == TAGS.encode(CHINESE.tags)
    # words in spaced scripts are encoded exactly as without the setting
    german = Sentence(("Das", "ist", "Berlin", "."), ("O", "O", "B-LOC", "O"), "de")
    assert encode(xlmr_tokenizer, [german], 64, TAGS, join_unspaced=True) == encode(xlmr_tokenizer, [german], 64, TAGS)


def test_the_setting_is_part_of_the_cache_keys():
    from xtremedistil_ner.cache import teacher_scores_key, transfer_key
    from xtremedistil_ner.config import TeacherConfig

    off, on = TeacherConfig(), TeacherConfig(join_unspaced=True)
    assert transfer_key("t", [CHINESE], off) != transfer_key("t", [CHINESE], on)
    assert teacher_scores_key("t", [CHINESE], "default", off) != teacher_scores_key("t", [CHINESE], "default", on)
