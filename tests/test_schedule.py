from torch import nn

from xtremedistil_ner.config import StageConfig
from xtremedistil_ner.schedule import build_schedule, set_trainable

DECLARED = (StageConfig("hidden"), StageConfig("soft", unfreeze="gradual"), StageConfig("hard", unfreeze="gradual"))


def test_two_layer_schedule_is_top_down():
    stages = build_schedule(DECLARED, ("embedding", "lstm.0", "lstm.1", "head"))
    assert [s.name for s in stages] == [
        "hidden",
        "soft/unfreeze:head",
        "soft/unfreeze:lstm.1",
        "soft/unfreeze:lstm.0",
        "soft/unfreeze:embedding",
        "hard/unfreeze:head",
        "hard/unfreeze:lstm.1",
        "hard/unfreeze:lstm.0",
        "hard/unfreeze:embedding",
    ]
    assert stages[0].trainable == ("embedding", "lstm.0", "lstm.1", "projection")
    assert stages[2].trainable == ("lstm.1", "head")
    assert stages[4].trainable == ("embedding", "lstm.0", "lstm.1", "head")


def test_one_layer_frozen_embeddings_and_all_unfreeze():
    declared = (StageConfig("soft", unfreeze="gradual"), StageConfig("hard"), StageConfig("gold"))
    stages = build_schedule(declared, ("embedding", "lstm.0", "head"), freeze_embeddings=True)
    assert [(s.name, s.trainable) for s in stages] == [
        ("soft/unfreeze:head", ("head",)),
        ("soft/unfreeze:lstm.0", ("lstm.0", "head")),
        ("hard/all", ("lstm.0", "head")),
        ("gold/all", ("lstm.0", "head")),
    ]
    assert stages[-1].data == "labeled" and stages[0].data == "transfer"


def test_set_trainable_on_a_toy_module():
    toy = nn.Module()
    toy.embedding = nn.Embedding(3, 2)
    toy.lstm = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])
    toy.lstm_extra = nn.Linear(2, 2)  # prefix "lstm" must not catch "lstm_extra"
    count = set_trainable(toy, ["lstm.1", "embedding"])
    trainable = {n for n, p in toy.named_parameters() if p.requires_grad}
    assert trainable == {"embedding.weight", "lstm.1.weight", "lstm.1.bias"}
    assert count == 6 + 6
