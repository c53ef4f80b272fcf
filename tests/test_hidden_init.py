import numpy as np
import torch

from xtremedistil_ner.config import EvalConfig, RunConfig, StudentConfig
from xtremedistil_ner.runtime.features import featurize
from xtremedistil_ner.student.vocab import StudentVocab, hidden_init_vectors, hidden_vectors

SENTENCES = [["Berlin", "ist", "groß"], ["Paris", "ist", "schön", "und", "groß"], ["Berlinale"]]


def test_hidden_vectors_average_the_states_of_the_words_holding_each_piece(xlmr_tokenizer):
    features = featurize(xlmr_tokenizer, SENTENCES)
    vocab = StudentVocab.build(xlmr_tokenizer, [features], 100)
    lookup = vocab.lookup(xlmr_tokenizer)
    n_words = len(features.word_offsets) - 1
    rng = np.random.default_rng(0)
    hidden = rng.normal(size=(n_words, 6)).astype(np.float16)
    means, have = hidden_vectors(features, hidden, lookup, len(vocab))
    # by hand: every (word, piece) pair adds the word's state to the piece's row
    expected = np.zeros((len(vocab), 6))
    counts = np.zeros(len(vocab))
    for word in range(n_words):
        for piece in features.pieces[features.word_offsets[word] : features.word_offsets[word + 1]]:
            expected[lookup[piece]] += hidden[word].astype(np.float64)
            counts[lookup[piece]] += 1
    held = counts > 0
    held[0] = False  # UNK gets no vector
    assert np.array_equal(have, held) and held[1:].all()
    np.testing.assert_allclose(means.numpy()[held], (expected[held] / counts[held, None]), rtol=1e-5, atol=1e-6)
    # reading the states a few words at a time changes nothing
    small, _ = hidden_vectors(features, hidden, lookup, len(vocab), chunk_words=2)
    torch.testing.assert_close(small, means)


def test_hidden_init_standardises_and_maps_input_rows_into_the_context_space():
    rng = np.random.default_rng(1)
    inputs = torch.from_numpy(rng.normal(size=(40, 4))).float()
    affine = torch.from_numpy(rng.normal(size=(4, 3))).float()
    context = inputs @ affine + 5.0  # an exact affine relation, so the fit recovers it
    have_context = np.ones(40, bool)
    have_context[[0, 7, 9]] = False  # UNK and two pieces the transfer text lacks
    have_input = np.ones(40, bool)
    have_input[0] = False
    out, have = hidden_init_vectors(context, have_context, inputs, have_input)
    fit = torch.from_numpy(have_context)
    standard = (context - context[fit].mean(0)) / context[fit].std(0)
    torch.testing.assert_close(out[fit], standard[fit])
    torch.testing.assert_close(out[[7, 9]], standard[[7, 9]], rtol=1e-4, atol=1e-4)
    assert have.tolist() == [False] + [True] * 39 and bool((out[0] == 0).all())


def test_the_gold_only_student_never_takes_the_teachers_hidden_init():
    from xtremedistil_ner.pipeline import gold_baseline_config

    cfg = RunConfig(student=StudentConfig(svd_source="hidden"), eval=EvalConfig(gold_baseline_epochs=2))
    assert gold_baseline_config(cfg).student.svd_source == "input"
    assert gold_baseline_config(cfg).student.embedding_dim == cfg.student.embedding_dim
