import numpy as np
import torch

from xtremedistil_ner.runtime.features import featurize
from xtremedistil_ner.student.vocab import UNK, StudentVocab, svd_embeddings
from xtremedistil_ner.student.vocab_fill import char_script, fill_pieces, in_scripts, ranked_pieces, text_scripts

TEXT = [("Angela", "Merkel", "visited", "Paris", "in", "2019", "."), ("The", "city", "was", "calm", ".")]


def test_char_script_names_letters_and_leaves_the_rest_neutral():
    assert [char_script(c) for c in "aЯ中ひ"] == ["LATIN", "CYRILLIC", "CJK", "HIRAGANA"]
    assert [char_script(c) for c in "7.-€ "] == ["", "", "", "", ""]
    assert char_script("\u093e") == "DEVANAGARI"  # a vowel sign (a mark) belongs to its script


def test_text_scripts_weigh_letters_by_count_and_drop_a_stray_script():
    assert text_scripts({"▁Paris": 1000, "▁Москва": 1}) == {"LATIN"}
    assert text_scripts({"▁Paris": 10, "▁Москва": 10}) == {"LATIN", "CYRILLIC"}
    assert text_scripts({"▁2019": 5, ".": 9}) == frozenset()


def test_in_scripts_needs_text_and_every_letter_in_the_scripts():
    latin = frozenset({"LATIN"})
    assert in_scripts("▁Berlin", latin) and in_scripts("##ing", latin) and in_scripts("1990", latin)
    assert not in_scripts("▁Берлин", latin) and not in_scripts("▁", latin) and not in_scripts("a中", latin)


def test_ranked_pieces_unigram_by_score_wordpiece_by_id(xlmr_tokenizer, mbert_tokenizer):
    unigram = ranked_pieces(xlmr_tokenizer)
    assert not set(unigram) & set(xlmr_tokenizer.all_special_tokens)
    # SentencePiece scores are log-probabilities: frequent English and Latin pieces come long before rare ones
    assert unigram.index("▁the") < 1000 < unigram.index("▁Merkel")
    wordpiece = ranked_pieces(mbert_tokenizer)
    assert not any(p.startswith("[") and p.endswith("]") for p in wordpiece)  # [CLS], [unused7], ...
    ids = mbert_tokenizer.convert_tokens_to_ids(wordpiece[:500])
    assert ids == sorted(ids)


def test_fill_pieces_skips_known_and_other_scripts_and_stops_at_room():
    ranked = ["▁the", "▁и", "▁Berlin", "▁Rom", "▁Oslo"]
    assert fill_pieces(ranked, ["▁the"], frozenset({"LATIN"}), 2) == ["▁Berlin", "▁Rom"]
    assert fill_pieces(ranked, [], frozenset({"CYRILLIC"}), 9) == ["▁и"]


def test_build_with_fill_keeps_the_text_pieces_first_and_covers_unseen_words(xlmr_tokenizer):
    feats = featurize(xlmr_tokenizer, TEXT)
    plain = StudentVocab.build(xlmr_tokenizer, [feats], max_vocab=2000)
    filled = StudentVocab.build(xlmr_tokenizer, [feats], max_vocab=2000, fill=True)
    assert len(filled) == 2000 and filled.pieces[: len(plain)] == plain.pieces and filled.pieces[0] == UNK
    assert len(set(filled.pieces)) == 2000
    added = filled.pieces[len(plain) :]
    assert all(in_scripts(p, frozenset({"LATIN"})) for p in added)
    # a frequent English word absent from the text: <unk> without the fill, a row of its own with it
    unseen = featurize(xlmr_tokenizer, [("with",)]).pieces
    assert np.all(plain.lookup(xlmr_tokenizer)[unseen] == 0)
    assert np.all(filled.lookup(xlmr_tokenizer)[unseen] > 0)


def test_build_with_fill_never_exceeds_max_vocab(xlmr_tokenizer):
    feats = featurize(xlmr_tokenizer, TEXT)
    small = StudentVocab.build(xlmr_tokenizer, [feats], max_vocab=5, fill=True)
    assert small.pieces == StudentVocab.build(xlmr_tokenizer, [feats], max_vocab=5).pieces


def test_filled_rows_are_projected_with_the_text_rows_basis():
    torch.manual_seed(0)
    vectors = torch.randn(12, 6)
    have = np.ones(12, bool)
    have[0] = False  # UNK
    fitted = svd_embeddings(vectors, have, 3, fit_rows=8)
    # the text rows (0-7) come out as they do without the filled rows beside them
    torch.manual_seed(1)
    alone = svd_embeddings(vectors[:8], have[:8], 3)
    assert torch.allclose(fitted[1:8], alone[1:8], atol=1e-5)
    # a filled row equal to a text row lands on that row's embedding: the same projection
    vectors[10] = vectors[3]
    assert torch.allclose(svd_embeddings(vectors, have, 3, fit_rows=8)[10], fitted[3], atol=1e-5)
    # fitting on every row (the default) gives the filled rows a say in the basis
    assert not torch.allclose(svd_embeddings(vectors, have, 3)[1:8], alone[1:8], atol=1e-3)


def test_build_with_fill_records_where_the_filled_rows_start(xlmr_tokenizer):
    feats = featurize(xlmr_tokenizer, TEXT)
    plain = StudentVocab.build(xlmr_tokenizer, [feats], max_vocab=2000)
    filled = StudentVocab.build(xlmr_tokenizer, [feats], max_vocab=2000, fill=True)
    assert plain.text_pieces == 0 and filled.text_pieces == len(plain)
