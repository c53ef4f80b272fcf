"""Document context: read from files that mark documents, fed to the teacher around each sentence."""

import numpy as np
import pytest

from xtremedistil_ner.cache import teacher_scores_key, transfer_key
from xtremedistil_ner.config import TeacherConfig
from xtremedistil_ner.data.documents import attach_context, context_note
from xtremedistil_ner.data.readers import read_labeled
from xtremedistil_ner.data.records import Sentence
from xtremedistil_ner.teacher import IGNORE_INDEX, NO_WORD, collate, encode, predict_targets

from .conftest import XLMR
from .test_teacher import TAGS as TEACHER_TAGS
from .test_teacher import tiny_teacher

UNER_DOCS = """# newdoc id = a
# sent_id = a-1
1\tAnna\tB-PER\t-\t-
2\tsings\tO\t-\t-

# sent_id = a-2
1\tShe\tO\t-\t-
2\tlives\tO\t-\t-
3\tin\tO\t-\t-
4\tOslo\tB-LOC\t-\t-

# newdoc id = b
# sent_id = b-1
1\tApple\tB-ORG\t-\t-
2\twins\tO\t-\t-
"""


def test_a_file_with_newdoc_marks_gives_each_sentence_its_neighbours_in_its_document(tmp_path):
    path = tmp_path / "train.iob2"
    path.write_text(UNER_DOCS, encoding="utf-8")
    a1, a2, b1 = read_labeled(path, "en")
    assert a1.context == ((), ("She", "lives", "in", "Oslo"))
    assert a2.context == (("Anna", "sings"), ())
    assert b1.context == ((), ())  # alone in its document
    assert a2.unlabeled().context == a2.context  # the transfer copy keeps it
    assert a1.tags == ("B-PER", "O")


def test_docstart_marks_documents_and_a_file_without_marks_has_no_context(tmp_path):
    conll = tmp_path / "a.conll"
    conll.write_text("-DOCSTART- O\n\nA O\n\nB O\n\n-DOCSTART- O\n\nC O\n", encoding="utf-8")
    got = read_labeled(conll, "nl")
    assert [s.context for s in got] == [((), ("B",)), (("A",), ()), ((), ())]
    plain = tmp_path / "b.conll"
    plain.write_text("A O\n\nB O\n", encoding="utf-8")
    assert [s.context for s in read_labeled(plain, "nl")] == [None, None]


def test_attach_context_keeps_the_nearest_words_up_to_the_limit():
    sentences = [Sentence((f"w{i}a", f"w{i}b"), None, "en") for i in range(5)]
    got = attach_context(sentences, [0, 0, 0, 0, 1], words=3)
    assert got[2].context == (("w0b", "w1a", "w1b"), ("w3a", "w3b"))
    assert got[3].context == (("w1b", "w2a", "w2b"), ())


@pytest.fixture()
def with_context():
    return Sentence(("Anna", "sings"), ("B-PER", "O"), "en", (("Yesterday", "in", "Oslo"), ("She", "won", ".")))


def test_context_pieces_are_read_but_never_labeled_or_pooled(xlmr_tokenizer, with_context):
    (plain,) = encode(xlmr_tokenizer, [with_context], 64, TEACHER_TAGS)
    (ctx,) = encode(xlmr_tokenizer, [with_context], 64, TEACHER_TAGS, context=8)
    assert len(ctx.input_ids) > len(plain.input_ids)
    # the words' pieces, labels and word indices are the same; the rest is context without a word or a label
    words = [i for i, w in enumerate(ctx.word_index) if w != NO_WORD]
    plain_words = [i for i, w in enumerate(plain.word_index) if w != NO_WORD]
    assert [ctx.input_ids[i] for i in words] == [plain.input_ids[i] for i in plain_words]
    assert [ctx.labels[i] for i in words] == [plain.labels[i] for i in plain_words]
    assert [ctx.word_index[i] for i in words] == [plain.word_index[i] for i in plain_words]
    assert all(ctx.labels[i] == IGNORE_INDEX for i, w in enumerate(ctx.word_index) if w == NO_WORD)
    text = xlmr_tokenizer.decode(collate(xlmr_tokenizer, [ctx])["input_ids"][0])
    assert "Yesterday in Oslo" in text and "Anna sings" in text and "She won" in text
    assert text.index("Oslo") < text.index("Anna") < text.index("She")
    # without the setting, a sentence with context encodes exactly as before
    assert encode(xlmr_tokenizer, [with_context], 64, TEACHER_TAGS) == [plain]


def test_context_fits_under_max_length_nearest_pieces_first(xlmr_tokenizer, with_context):
    around = (tuple(f"a{i}" for i in range(40)), tuple(f"z{i}" for i in range(40)))
    long = Sentence(with_context.tokens, None, "en", around)
    for max_length in (8, 12, 20, 64):
        (window,) = encode(xlmr_tokenizer, [long], max_length, context=16)
        assert len(window.input_ids) <= max_length
    (window,) = encode(xlmr_tokenizer, [long], 64, context=4)
    text = xlmr_tokenizer.decode(collate(xlmr_tokenizer, [window])["input_ids"][0])
    assert "a39" in text and "z0" in text and "a0 " not in text  # the nearest pieces, 4 a side


def test_a_teacher_with_context_still_gives_one_row_per_word():
    (model, tokenizer), cfg = tiny_teacher(XLMR, context=8)
    sentences = [
        Sentence(("Anna", "sings"), None, "en", (("Yesterday",), ("She", "won"))),
        Sentence(("x",), None, "en"),
    ]
    got = dict(predict_targets(model, tokenizer, sentences, cfg, with_hidden=False))
    assert [got[i].logits.shape for i in (0, 1)] == [(2, len(TEACHER_TAGS)), (1, len(TEACHER_TAGS))]
    assert np.isfinite(got[0].logits).all()


def test_cache_keys_see_the_context_only_when_the_teacher_reads_it():
    a = [Sentence(("x",), None, "en", (("a",), ()))]
    b = [Sentence(("x",), None, "en", (("b",), ()))]
    off, on = TeacherConfig(), TeacherConfig(context=16)
    assert transfer_key("t", a, off) == transfer_key("t", b, off)
    assert transfer_key("t", a, on) != transfer_key("t", b, on)
    assert teacher_scores_key("t", a, "default", on) != teacher_scores_key("t", b, "default", on)
    assert teacher_scores_key("t", a, "default", off) == teacher_scores_key("t", b, "default", off)
    with pytest.raises(ValueError, match=r"teacher\.context"):
        TeacherConfig(context=-1)


def test_the_run_says_how_many_sentences_have_context_and_when_none_do():
    docs = [Sentence(("x",), ("O",), "en", (("a",), ())), Sentence(("y",), ("O",), "en", ((), ()))]
    assert "for 1 of 2 fine-tuning sentences" in context_note(docs, 64)
    alone = [Sentence(("x",), ("O",), "en")]
    assert "marks no documents" in context_note(alone, 64) and "sentences alone" in context_note(alone, 64)
