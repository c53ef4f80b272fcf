import itertools

import pytest
import torch

from xtremedistil_ner.data.tags import TagVocab
from xtremedistil_ner.student.crf import CRF


def brute_force(crf: CRF, emissions: torch.Tensor, length: int):
    """All paths of one sequence: (log Z, best path, scores by path)."""
    start, trans = crf._scores()
    n = crf.num_tags
    scores = {}
    for path in itertools.product(range(n), repeat=length):
        s = start[path[0]] + emissions[0, path[0]]
        for t in range(1, length):
            s = s + trans[path[t - 1], path[t]] + emissions[t, path[t]]
        scores[path] = s + crf.end_transitions[path[-1]]
    values = torch.stack(list(scores.values()))
    best = max(scores, key=lambda p: scores[p])
    return torch.logsumexp(values, 0), list(best), scores


@pytest.fixture()
def crf():
    torch.manual_seed(0)
    c = CRF(4)
    torch.nn.init.normal_(c.transitions)
    return c


@pytest.mark.parametrize("length", [1, 2, 3, 4])
def test_likelihood_viterbi_and_marginals_match_brute_force(crf, length):
    emissions = torch.randn(1, length, 4)
    mask = torch.ones(1, length, dtype=torch.bool)
    log_z, best, scores = brute_force(crf, emissions[0], length)
    for path, s in list(scores.items())[:10]:
        llh = crf.log_likelihood(emissions, torch.tensor([path]), mask)
        assert torch.allclose(llh, s - log_z, atol=1e-5)
    assert crf.decode(emissions, mask) == [best]
    marg = crf.marginals(emissions, mask)[0]
    probs = {p: (s - log_z).exp() for p, s in scores.items()}
    for t in range(length):
        for j in range(4):
            expected = sum(v for p, v in probs.items() if p[t] == j)
            assert torch.allclose(marg[t, j], expected, atol=1e-5)


def test_batch_equals_sum_of_sequences_and_padding_changes_nothing(crf):
    emissions = torch.randn(3, 5, 4)
    tags = torch.randint(0, 4, (3, 5))
    lengths = [5, 3, 1]
    mask = torch.tensor([[i < n for i in range(5)] for n in lengths])
    batch = crf.log_likelihood(emissions, tags, mask, reduction="none")
    for b, n in enumerate(lengths):
        single = crf.log_likelihood(emissions[b : b + 1, :n], tags[b : b + 1, :n], mask[b : b + 1, :n])
        assert torch.allclose(batch[b], single, atol=1e-5)
    noisy = emissions.clone()
    noisy[~mask] = 1000.0
    assert torch.allclose(crf.log_likelihood(noisy, tags, mask, reduction="none"), batch, atol=1e-5)
    assert crf.decode(noisy, mask) == crf.decode(emissions, mask)
    assert [len(p) for p in crf.decode(emissions, mask)] == lengths
    assert torch.allclose(crf.marginals(emissions, mask).sum(-1), mask.float(), atol=1e-5)


def test_bad_shapes_raise_value_error(crf):
    with pytest.raises(ValueError, match="emissions"):
        crf.decode(torch.randn(2, 3, 5), torch.ones(2, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="mask"):
        crf.decode(torch.randn(2, 3, 4), torch.ones(2, 3))
    with pytest.raises(ValueError, match="tags"):
        crf.log_likelihood(
            torch.randn(2, 3, 4), torch.zeros(2, 2, dtype=torch.long), torch.ones(2, 3, dtype=torch.bool)
        )
    with pytest.raises(ValueError, match="first position"):
        crf.decode(torch.randn(1, 2, 4), torch.tensor([[False, True]]))


def test_bio_constraints_never_emit_o_to_i():
    tags = TagVocab.from_types(["PER", "LOC"])
    crf = CRF(len(tags), tags.forbidden_transitions(), tags.forbidden_starts())
    torch.manual_seed(1)
    emissions = torch.randn(64, 6, len(tags)) * 3
    emissions[..., tags.index["I-PER"]] += 2  # tempt the decoder with I- tags
    for path in crf.decode(emissions, torch.ones(64, 6, dtype=torch.bool)):
        seq = tags.decode(path)
        for prev, cur in zip(["O", *seq], seq, strict=False):
            if cur.startswith("I-"):
                assert prev[2:] == cur[2:]
