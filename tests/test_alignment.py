import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from xtremedistil_ner.alignment import NO_WORD, pool_to_words, representative_mask, word_windows


@st.composite
def split_sentences(draw):
    """Random word lists with random subword splits, as word_ids with [CLS]/[SEP] and padding."""
    batch = draw(st.integers(1, 4))
    rows, skips = [], []
    for _ in range(batch):
        pieces_per_word = draw(st.lists(st.integers(1, 4), min_size=1, max_size=8))
        row = [NO_WORD] + [w for w, n in enumerate(pieces_per_word) for _ in range(n)] + [NO_WORD]
        skip = [False] + [draw(st.booleans()) for _ in row[1:-1]] + [False]
        rows.append(row)
        skips.append(skip)
    width = max(len(r) for r in rows)
    word_index = torch.tensor([r + [NO_WORD] * (width - len(r)) for r in rows])
    skip = torch.tensor([s + [False] * (width - len(s)) for s in skips])
    return word_index, skip


@given(split_sentences())
@settings(max_examples=60, deadline=None)
def test_every_word_gets_exactly_one_representative_and_specials_never(data):
    word_index, skip = data
    rep = representative_mask(word_index, skip)
    assert not rep[word_index == NO_WORD].any()
    for b in range(word_index.size(0)):
        words = word_index[b][word_index[b] >= 0]
        n_words = int(words.max()) + 1
        chosen = word_index[b][rep[b]].tolist()
        assert chosen == list(range(n_words))
        for w in range(n_words):
            pieces = (word_index[b] == w).nonzero().flatten().tolist()
            pos = int((rep[b] & (word_index[b] == w)).nonzero()[0])
            non_skipped = [p for p in pieces if not skip[b, p]]
            assert pos == (non_skipped[0] if non_skipped else pieces[0])


@given(split_sentences(), st.sampled_from(["first", "mean", "max"]))
@settings(max_examples=60, deadline=None)
def test_pooled_length_and_gather_returns_word_labels(data, mode):
    word_index, skip = data
    num_words = int(word_index.max()) + 1
    # each piece carries its word's label as a one-hot row: any pooling must give back the word label
    labels = torch.where(word_index >= 0, word_index % 3, 0)
    values = torch.nn.functional.one_hot(labels, 3).float()
    pooled = pool_to_words(values, word_index, num_words, mode, skip)
    assert pooled.shape == (word_index.size(0), num_words, 3)
    for b in range(word_index.size(0)):
        n = int(word_index[b].max()) + 1
        assert pooled[b, :n].argmax(-1).tolist() == [w % 3 for w in range(n)]
        assert torch.all(pooled[b, n:] == 0)


def test_mean_and_first_on_a_known_case():
    # [CLS] Jo ##hn ▁ X [SEP]: word 0 = Jo ##hn, word 1 = bare ▁ + X
    word_index = torch.tensor([[NO_WORD, 0, 0, 1, 1, NO_WORD]])
    skip = torch.tensor([[False, False, False, True, False, False]])
    values = torch.tensor([[[0.0], [1.0], [3.0], [100.0], [5.0], [0.0]]])
    assert pool_to_words(values, word_index, 2, "first", skip).flatten().tolist() == [1.0, 5.0]
    assert pool_to_words(values, word_index, 2, "mean", skip).flatten().tolist() == [2.0, 5.0]
    assert pool_to_words(values, word_index, 2, "max", skip).flatten().tolist() == [3.0, 5.0]
    # a word made only of a bare piece keeps it
    only_bare = torch.tensor([[NO_WORD, 0, NO_WORD]])
    assert representative_mask(only_bare, torch.tensor([[False, True, False]])).tolist() == [[False, True, False]]


@given(st.lists(st.integers(1, 6), min_size=1, max_size=30), st.integers(1, 10))
def test_windows_cover_every_word_in_order(pieces_per_word, budget):
    word_ids = [w for w, n in enumerate(pieces_per_word) for _ in range(n)]
    windows = word_windows(word_ids, budget)
    assert all(0 < end - start <= budget for start, end in windows)
    firsts = []
    for start, end in windows:
        firsts.extend(sorted(set(word_ids[start:end])))
        # a window never starts in the middle of a word
        assert start == 0 or word_ids[start] != word_ids[start - 1]
    assert firsts == list(range(len(pieces_per_word)))
