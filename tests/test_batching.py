import random

import pytest

from xtremedistil_ner.data.batching import bucket_batches, padding_waste


@pytest.mark.parametrize("seed", range(5))
def test_max_padding_bounds_every_batch_and_keeps_every_index(seed):
    rng = random.Random(seed)
    lengths = [rng.randint(1, 120) for _ in range(rng.randint(1, 400))]
    batches = bucket_batches(lengths, max_tokens=4096, batch_size=512, max_padding=0.05)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:
        assert padding_waste([b], lengths) <= 0.05 + 1e-9
        assert len(b) * max(lengths[i] for i in b) <= 4096 or len(b) == 1
    assert padding_waste(batches, lengths) <= 0.05


def test_without_max_padding_one_budget_batch_pads_a_lot():
    lengths = [1] * 50 + [100]
    assert padding_waste(bucket_batches(lengths, max_tokens=10_000), lengths) > 0.5
    assert padding_waste(bucket_batches(lengths, max_tokens=10_000, max_padding=0.1), lengths) == 0.0
