import itertools

import numpy as np
import torch

from tests.conftest import ROOT
from xtremedistil_ner.checkpoint import load_student, save_student
from xtremedistil_ner.config import StudentConfig, load_recipe
from xtremedistil_ner.data.records import Sentence
from xtremedistil_ner.data.tags import TagVocab
from xtremedistil_ner.runtime.features import featurize
from xtremedistil_ner.student.model import StudentTagger
from xtremedistil_ner.student.vocab import StudentVocab, make_batch, svd_embeddings, word_rows

TAGS = TagVocab.from_types(["PER", "ORG", "LOC"])
SENTENCES = [
    Sentence(("Angela", "Merkel", "besuchte", "Paris"), None, "de"),
    Sentence(("Ok",), None, "en"),
    Sentence(("Unbelievably", "long", "words", "here", "too"), None, "en"),
]


def test_default_size_is_35x_smaller_than_mbert_base():
    model = StudentTagger(StudentConfig(), 60000, 7, TAGS)
    assert 177_853_440 / model.num_parameters() >= 35


def test_the_default_recipes_student_is_35x_smaller_than_mbert_base():
    """What `xdner distill --langs all` trains (recipes/cpu.toml), at its full vocabulary of 60,000 pieces."""
    cfg = load_recipe(ROOT / "recipes" / "cpu.toml")
    model = StudentTagger(cfg.student, cfg.student.max_vocab, 7, TAGS)
    assert 177_853_440 / model.num_parameters() >= 35


def test_featurize_batch_and_forward_shapes(mbert_tokenizer):
    feats = featurize(mbert_tokenizer, [s.tokens for s in SENTENCES])
    assert feats.lengths().tolist() == [4, 1, 5]
    vocab = StudentVocab.build(mbert_tokenizer, [feats], max_vocab=10)
    assert len(vocab) <= 10 and vocab.pieces[0] == "<unk>"
    lookup = vocab.lookup(mbert_tokenizer)
    batch = make_batch(feats, lookup, [2, 0, 1])
    assert batch.mask.sum(1).tolist() == [5, 4, 1]
    assert len(batch.offsets) == 10 and len(word_rows(feats, [2, 0, 1])) == 10
    model = StudentTagger(StudentConfig(embedding_dim=8, hidden_size=6), len(vocab), 7, TAGS)
    out = model(batch)
    assert out.emissions.shape == (3, 5, 7) and out.hidden.shape == (3, 5, 12)
    paths = model.decode(batch)
    assert [len(p) for p in paths] == [5, 4, 1]


def test_make_batch_holds_each_words_pieces_in_row_major_order(mbert_tokenizer):
    feats = featurize(mbert_tokenizer, [s.tokens for s in SENTENCES])
    lookup = np.arange(len(mbert_tokenizer), dtype=np.int64)  # identity: student ids = tokenizer ids
    order = [2, 0, 1, 0]
    batch = make_batch(feats, lookup, order)
    rows = word_rows(feats, order)
    assert rows.tolist() == [5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 0, 1, 2, 3]
    bounds = [*batch.offsets.tolist(), len(batch.pieces)]
    got = [batch.pieces[a:b].tolist() for a, b in itertools.pairwise(bounds)]
    expected = [
        mbert_tokenizer(word, add_special_tokens=False)["input_ids"] for i in order for word in SENTENCES[i].tokens
    ]
    assert got == expected
    assert batch.mask.tolist()[3] == [True] * 4 + [False]


def test_padding_does_not_change_a_sentence(mbert_tokenizer):
    feats = featurize(mbert_tokenizer, [s.tokens for s in SENTENCES])
    lookup = StudentVocab.build(mbert_tokenizer, [feats], 100).lookup(mbert_tokenizer)
    torch.manual_seed(0)
    model = StudentTagger(StudentConfig(embedding_dim=8, hidden_size=6), 100, 7, TAGS).eval()
    alone = model(make_batch(feats, lookup, [1])).emissions[0, :1]
    padded = model(make_batch(feats, lookup, [2, 1])).emissions[1, :1]
    assert torch.allclose(alone, padded, atol=1e-6)


def test_word_shapes_reach_the_student_beside_the_pieces(mbert_tokenizer, tmp_path):
    from xtremedistil_ner.runtime.shapes import word_shape

    feats = featurize(mbert_tokenizer, [s.tokens for s in SENTENCES])
    vocab = StudentVocab.build(mbert_tokenizer, [feats], 50)
    batch = make_batch(feats, vocab.lookup(mbert_tokenizer), [2, 0])
    assert batch.shapes.tolist() == [word_shape(w) for i in (2, 0) for w in SENTENCES[i].tokens]
    torch.manual_seed(0)
    model = StudentTagger(StudentConfig(embedding_dim=8, hidden_size=6, shape_dim=4), len(vocab), 7, TAGS).eval()
    assert model.lstm[0].input_size == 12 and model.prefixes("lstm.0") == ("lstm.0", "shape")
    assert model.prefixes("lstm.1") == ("lstm.1",)
    with torch.no_grad():
        before = model(batch).emissions
        recased = make_batch(feats, vocab.lookup(mbert_tokenizer), [2, 0])
        recased.shapes[:] = 2  # same pieces, every word read as ALL CAPS: other emissions
        assert not torch.allclose(model(recased).emissions, before)
    save_student(tmp_path, model, TAGS, vocab, mbert_tokenizer)
    loaded = load_student(tmp_path)
    with torch.no_grad():
        assert torch.equal(loaded.model(make_batch(feats, loaded.lookup, [2, 0])).emissions, before)


def test_svd_embeddings_keep_the_top_directions():
    torch.manual_seed(0)
    teacher = torch.randn(50, 3) @ torch.randn(3, 16)  # rank 3
    vectors = torch.cat([torch.zeros(1, 16), teacher[:20]])
    have = np.array([False] + [True] * 20)
    emb = svd_embeddings(vectors, have, 3)
    assert emb.shape == (21, 3)
    # distances between rows are preserved up to the global scale (rank-3 data, 3 kept dims)
    a = torch.cdist(teacher[:20], teacher[:20])
    b = torch.cdist(emb[1:], emb[1:])
    ratio = (b / a.clamp(min=1e-6))[a > 1e-3]
    assert ratio.std() / ratio.mean() < 1e-3


def test_checkpoint_round_trip(tmp_path, mbert_tokenizer):
    feats = featurize(mbert_tokenizer, [s.tokens for s in SENTENCES])
    vocab = StudentVocab.build(mbert_tokenizer, [feats], 50)
    model = StudentTagger(StudentConfig(embedding_dim=8, hidden_size=6), len(vocab), 7, TAGS)
    save_student(tmp_path, model.eval(), TAGS, vocab, mbert_tokenizer)
    loaded = load_student(tmp_path)
    batch = make_batch(feats, loaded.lookup, [0, 1, 2])
    assert loaded.model.decode(batch) == model.decode(make_batch(feats, vocab.lookup(mbert_tokenizer), [0, 1, 2]))
    assert loaded.tags == TAGS


def test_teacher_vectors_across_tokenizers(mbert_tokenizer, xlmr_tokenizer):
    from xtremedistil_ner.student.vocab import teacher_vectors

    weight = torch.randn(len(xlmr_tokenizer), 4)
    pieces = ("<unk>", "Berlin", "##ing", "zzzqqq")
    vectors, have = teacher_vectors(pieces, mbert_tokenizer, xlmr_tokenizer, weight)
    assert have.tolist()[0] is False and have[1] and have[2]
    ids = xlmr_tokenizer("ing", add_special_tokens=False)["input_ids"]
    assert torch.allclose(vectors[2], weight[ids].mean(0))
    table = torch.randn(200000, 4)
    same, have_same = teacher_vectors(("<unk>", "Berlin"), mbert_tokenizer, mbert_tokenizer, table)
    assert have_same.tolist() == [False, True]
    assert torch.equal(same[1], table[mbert_tokenizer.convert_tokens_to_ids("Berlin")])


def test_equal_length_batches_and_padded_batches_give_the_same_emissions(mbert_tokenizer):
    feats = featurize(mbert_tokenizer, [s.tokens for s in SENTENCES])
    lookup = StudentVocab.build(mbert_tokenizer, [feats], 100).lookup(mbert_tokenizer)
    torch.manual_seed(0)
    model = StudentTagger(StudentConfig(embedding_dim=8, hidden_size=6), 100, 7, TAGS).eval()
    batch = make_batch(feats, lookup, [1, 1])  # equal lengths: nn.LSTM as it is
    mixed = make_batch(feats, lookup, [2, 1])  # different lengths: each direction within its length
    with torch.no_grad():
        assert torch.allclose(model(batch).emissions[0], model(mixed).emissions[1, : batch.mask.size(1)], atol=1e-6)


def test_padded_bilstm_matches_the_packed_layer_in_outputs_and_gradients():
    """Two directions over the padded batch (the backward one reversed within each length) = nn.LSTM packed."""
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    from xtremedistil_ner.student.bilstm import bilstm_padded, reverse_index

    torch.manual_seed(0)
    layer = torch.nn.LSTM(5, 4, batch_first=True, bidirectional=True)
    lengths = torch.tensor([6, 2, 4, 1])
    mask = torch.arange(6)[None] < lengths[:, None]
    x = torch.randn(4, 6, 5) * mask[..., None]
    x[~mask] = 7.0  # whatever padding holds never reaches a real word
    assert reverse_index(lengths, 6)[1].tolist() == [1, 0, 2, 3, 4, 5]
    x_packed = x.clone().requires_grad_()
    packed = pack_padded_sequence(x_packed, lengths, batch_first=True, enforce_sorted=False)
    want, _ = pad_packed_sequence(layer(packed)[0], batch_first=True, total_length=6)
    (want * torch.arange(8.0)).sum().backward()
    want_grads = [p.grad.clone() for p in layer.parameters()] + [x_packed.grad[mask]]
    layer.zero_grad()
    x_padded = x.clone().requires_grad_()
    got = bilstm_padded(layer, x_padded, reverse_index(lengths, 6), mask)
    (got * torch.arange(8.0)).sum().backward()
    got_grads = [p.grad for p in layer.parameters()] + [x_padded.grad[mask]]
    assert torch.allclose(got, want, atol=1e-6) and not got[~mask].any()
    assert all(torch.allclose(g, w, atol=1e-5) for g, w in zip(got_grads, want_grads, strict=True))


def test_word_dropout_reads_whole_words_as_unk_in_training_only(mbert_tokenizer):
    feats = featurize(mbert_tokenizer, [s.tokens for s in SENTENCES])
    vocab = StudentVocab.build(mbert_tokenizer, [feats], max_vocab=60)
    batch = make_batch(feats, vocab.lookup(mbert_tokenizer), [0, 1, 2])
    assert (batch.pieces > 0).all()
    model = StudentTagger(StudentConfig(embedding_dim=8, hidden_size=6, word_dropout=0.5), len(vocab), 7, TAGS)
    torch.manual_seed(0)
    dropped = model._word_dropped(batch.pieces, batch.offsets)
    bounds = [*batch.offsets.tolist(), len(batch.pieces)]
    words = [dropped[a:b] for a, b in itertools.pairwise(bounds)]
    # every word is all <unk> or untouched; at p = 0.5 over 10 words both happen for this seed
    spans = itertools.pairwise(bounds)
    kept = [torch.equal(w, batch.pieces[a:b]) for w, (a, b) in zip(words, spans, strict=True)]
    assert all(bool((w == 0).all()) or k for w, k in zip(words, kept, strict=True))
    assert {bool((w == 0).all()) for w in words} == {True, False}
    model.eval()
    assert torch.equal(model._word_dropped(batch.pieces, batch.offsets), batch.pieces)
    plain = StudentTagger(StudentConfig(embedding_dim=8, hidden_size=6), len(vocab), 7, TAGS)
    plain.load_state_dict(model.state_dict())
    plain.eval()
    assert torch.equal(plain(batch).emissions, model(batch).emissions)


def test_word_dropout_off_draws_no_random_number(mbert_tokenizer):
    feats = featurize(mbert_tokenizer, [s.tokens for s in SENTENCES])
    vocab = StudentVocab.build(mbert_tokenizer, [feats], max_vocab=60)
    batch = make_batch(feats, vocab.lookup(mbert_tokenizer), [0, 1, 2])
    model = StudentTagger(StudentConfig(embedding_dim=8, hidden_size=6), len(vocab), 7, TAGS).train()
    state = torch.get_rng_state()
    assert model._word_dropped(batch.pieces, batch.offsets) is batch.pieces
    assert torch.equal(torch.get_rng_state(), state)
