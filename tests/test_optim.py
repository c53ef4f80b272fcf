import pytest
import torch
from accelerate import Accelerator

from xtremedistil_ner.optim import clip_gradients, make_adam


def _model_with_grads(scale: float) -> torch.nn.Module:
    torch.manual_seed(0)
    model = torch.nn.ModuleList([torch.nn.EmbeddingBag(50, 8), torch.nn.Linear(8, 3)])
    out = model[1](model[0](torch.randint(0, 50, (20,)), torch.tensor([0, 7, 13])))
    (scale * out.pow(2).sum()).backward()
    return model


@pytest.mark.parametrize("scale", [1e-3, 1e3])  # within bounds (no scaling pass) and clipped
def test_clip_gradients_equals_torch_bit_for_bit(scale):
    ours, ref = _model_with_grads(scale), _model_with_grads(scale)
    norm = clip_gradients(Accelerator(cpu=True), list(ours.parameters()), max_norm=1.0)
    ref_norm = torch.nn.utils.clip_grad_norm_(list(ref.parameters()), max_norm=1.0)
    assert norm == pytest.approx(float(ref_norm), rel=0, abs=0)
    for a, b in zip(ours.parameters(), ref.parameters(), strict=True):
        assert torch.equal(a.grad, b.grad)
    clipped = sum(p.grad.pow(2).sum() for p in ours.parameters()).sqrt()
    assert (clipped < 1.0 + 1e-4) if scale > 1 else torch.isclose(clipped, ref_norm)


def test_clip_gradients_without_gradients_is_zero():
    params = [torch.nn.Parameter(torch.ones(3))]
    assert clip_gradients(Accelerator(cpu=True), params, 1.0) == 0.0


def test_make_adam_is_fused_on_cpu():
    opt = make_adam([torch.nn.Parameter(torch.ones(3))], lr=1e-3)
    assert isinstance(opt, torch.optim.Adam) and opt.defaults.get("fused") is True


def _sparse_model(sparse: bool) -> torch.nn.ModuleList:
    torch.manual_seed(0)
    return torch.nn.ModuleList([torch.nn.EmbeddingBag(50, 8, mode="mean", sparse=sparse), torch.nn.Linear(8, 3)])


def _steps(model: torch.nn.ModuleList, opts: list[torch.optim.Optimizer], clip: float | None = None) -> list[float]:
    norms = []
    for step in range(5):
        # rows 0..5 in every batch, 6..11 in the first only, 12..49 never
        pieces = torch.arange(20) % (12 if step == 0 else 6)
        out = model[1](model[0](pieces, torch.tensor([0, 7, 13])))
        (100 * out.pow(2).sum()).backward()
        if clip is not None:
            norms.append(clip_gradients(Accelerator(cpu=True), list(model.parameters()), clip))
        for opt in opts:
            opt.step()
            opt.zero_grad()
    return norms


def test_row_sparse_adam_is_sparse_adam_on_the_table_and_adam_elsewhere():
    ours = _sparse_model(sparse=True)
    opt = make_adam(list(ours.parameters()), lr=1e-2, sparse_rows=True)
    _steps(ours, [opt])
    ref = _sparse_model(sparse=True)
    ref_opts = [torch.optim.SparseAdam(ref[0].parameters(), lr=1e-2), torch.optim.Adam(ref[1].parameters(), lr=1e-2)]
    _steps(ref, ref_opts)
    assert torch.allclose(ours[0].weight, ref[0].weight, atol=1e-6)
    assert torch.allclose(ours[1].weight, ref[1].weight, atol=1e-6)
    start = _sparse_model(sparse=True)[0].weight
    dense = _sparse_model(sparse=False)
    _steps(dense, [make_adam(list(dense.parameters()), lr=1e-2)])
    # rows in every batch: the same update as dense Adam; rows never in a batch: never moved by either
    assert torch.allclose(ours[0].weight[:6], dense[0].weight[:6], atol=1e-6)
    assert torch.equal(ours[0].weight[12:], start[12:]) and torch.equal(dense[0].weight[12:], start[12:])
    # rows seen once: dense Adam keeps moving them on momentum, the lazy update leaves them after their step
    assert (ours[0].weight[6:12] - dense[0].weight[6:12]).abs().min() > 1e-3
    state = opt.state_dict()["state"][0]
    assert set(state) == {"step", "exp_avg", "exp_avg_sq"} and float(state["step"]) == 5.0


def test_clip_gradients_with_a_sparse_table_clips_like_the_dense_gradient():
    sparse, dense = _sparse_model(sparse=True), _sparse_model(sparse=False)
    # one step each, gradients only (optimizers with lr 0 leave the weights as they are)
    s_norms = _steps(sparse, [make_adam(list(sparse.parameters()), lr=0.0, sparse_rows=True)], clip=1.0)
    d_norms = _steps(dense, [make_adam(list(dense.parameters()), lr=0.0)], clip=1.0)
    assert s_norms == pytest.approx(d_norms, rel=1e-6) and s_norms[0] > 1.0
