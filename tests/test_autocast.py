import torch

from xtremedistil_ner.autocast import autocast, cpu_has_bf16, use_bf16


def test_settings_resolve():
    assert use_bf16("bf16", "cpu") and not use_bf16("no", "cpu")
    assert use_bf16("auto", "cpu") == cpu_has_bf16()


def test_autocast_context_runs_matmuls_in_bf16_only_when_enabled():
    x = torch.ones(2, 2)
    with autocast(True, "cpu"):
        assert (x @ x).dtype == torch.bfloat16
    with autocast(False, "cpu"):
        assert (x @ x).dtype == torch.float32
