"""Crash and resume: a real ``xdner distill`` subprocess, killed with SIGKILL at a known point, then rerun.

The rerun must end with the same student, bit for bit (weights and every test score), as an uninterrupted run.
The kill point is a named run event (:mod:`xtremedistil_ner.events`): ``tests/pausing_cli.py`` runs the CLI
with a listener that pauses there, and the test delivers the signal.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from tests.conftest import ROOT, need_shared
from xtremedistil_ner.resume import ResumeStore, optimizer_state, optimizer_tensors

# smoke.toml (80 transfer sentences: sv has no data) with three dev evaluations per stage, whole-epoch stages
# (5 steps each) and 2 cache shards of 40 sentences
RECIPE = (ROOT / "recipes" / "smoke.toml").read_text(encoding="utf-8")
RECIPE = RECIPE.replace("evals_per_stage = 1", "evals_per_stage = 3").replace("epochs = 0.5", "epochs = 1.0")
RECIPE = RECIPE.replace("hidden_layer = 1\n", "hidden_layer = 1\ncache_shard_size = 40\n")


def _distill(recipe: Path, out: Path, pause_at: str = "") -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    launcher = ["-m", "xtremedistil_ner"]
    if pause_at:
        launcher = [str(ROOT / "tests" / "pausing_cli.py"), pause_at, str(out.parent / f"{out.name}.paused")]
    cmd = [sys.executable, *launcher, "distill", "--recipe", str(recipe), "--out", str(out)]
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )


def _finish(proc: subprocess.Popen) -> str:
    output, _ = proc.communicate(timeout=600)
    text = output.decode("utf-8", "replace")
    assert proc.returncode == 0, text
    return text


def _kill_at(recipe: Path, out: Path, point: str) -> None:
    """Start a run, wait until it reaches ``point``, SIGKILL its whole process group."""
    proc = _distill(recipe, out, point)
    mark = out.parent / f"{out.name}.paused"
    deadline = time.monotonic() + 600
    while not mark.exists():
        if proc.poll() is not None:
            pytest.fail(f"run ended before {point}: {proc.communicate()[0].decode()[-2000:]}")
        assert time.monotonic() < deadline, f"{point} never reached"
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL


@pytest.fixture(scope="module")
def recipe(tmp_path_factory) -> Path:
    need_shared()
    path = tmp_path_factory.mktemp("recipe") / "resume.toml"
    path.write_text(RECIPE, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def uninterrupted(recipe, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ref") / "run"
    _finish(_distill(recipe, out))
    return out


def _scores(run: Path) -> dict:
    report = json.loads((run / "report.json").read_text(encoding="utf-8"))
    return {"languages": report["languages"], "macro": report["macro"]}


@pytest.mark.parametrize(
    ("point", "expect"),
    [
        ("step:hidden:4", "resumed hidden step 3"),  # mid-stage: back to the checkpoint at step 3 (of 2, 3, 5)
        # teacher labeling: the first of 2 shards was kept
        pytest.param("label:shard:0", "1 shard(s) computed", marks=pytest.mark.slow),
        # a later stage, before its first checkpoint: restarts from the end of the previous stage
        pytest.param("step:hard/unfreeze:lstm.0:1", "5 of 7 stage(s) already done", marks=pytest.mark.slow),
        # evaluation: nothing retrained
        pytest.param("eval:student", "7 of 7 stage(s) already done", marks=pytest.mark.slow),
    ],
)
def test_sigkill_then_rerun_equals_uninterrupted(recipe, uninterrupted, tmp_path, point, expect):
    out = tmp_path / "run"
    _kill_at(recipe, out, point)
    assert not (out / "report.json").exists()
    log = _finish(_distill(recipe, out))
    assert expect in " ".join(log.split())
    assert _scores(out) == _scores(uninterrupted)
    ours = load_file(str(out / "student" / "model.safetensors"))
    ref = load_file(str(uninterrupted / "student" / "model.safetensors"))
    assert ours.keys() == ref.keys()
    for name, value in ref.items():
        assert torch.equal(ours[name], value), name
    assert not list(out.rglob("*.tmp")), "half-written files left behind"


def test_sparse_embedding_rows_resume_bit_equal(tmp_path_factory):
    """distill.embedding_grad = "sparse" (RowSparseAdam's state): a mid-stage kill, rerun, equals a whole run."""
    need_shared()
    root = tmp_path_factory.mktemp("sparse-rows")
    recipe = root / "sparse.toml"
    recipe.write_text(RECIPE.replace("[distill]\n", '[distill]\nembedding_grad = "sparse"\n'), encoding="utf-8")
    whole = root / "whole"
    _finish(_distill(recipe, whole))
    out = root / "run"
    _kill_at(recipe, out, "step:hidden:4")
    assert "resumed hidden step 3" in " ".join(_finish(_distill(recipe, out)).split())
    assert _scores(out) == _scores(whole)
    ours = load_file(str(out / "student" / "model.safetensors"))
    for name, value in load_file(str(whole / "student" / "model.safetensors")).items():
        assert torch.equal(ours[name], value), name


def test_optimizer_state_round_trips_through_safetensors(tmp_path):
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    model(torch.ones(4, 3)).sum().backward()
    opt.step()
    tensors, meta = optimizer_tensors(opt.state_dict())
    save_file(tensors, str(tmp_path / "opt.safetensors"))
    restored = torch.optim.Adam(torch.nn.Linear(3, 2).parameters(), lr=0.5)
    meta = json.loads(json.dumps(meta))  # as read back from progress.json
    restored.load_state_dict(optimizer_state(load_file(str(tmp_path / "opt.safetensors")), meta))
    after = restored.state_dict()
    assert after["param_groups"][0]["lr"] == 0.1 and after["param_groups"][0]["betas"] == (0.9, 0.999)
    for pid, values in opt.state_dict()["state"].items():
        for key, value in values.items():
            assert torch.equal(after["state"][pid][key], value)


def test_state_from_another_recipe_is_discarded_and_half_written_dirs_dropped(tmp_path):
    store = ResumeStore(tmp_path / "state", "fingerprint-a")
    store.save_finished(0, {"result": {}, "carry": ["dev_macro_f1", 0.5]}, torch.nn.Linear(2, 2))
    (tmp_path / "state" / "stage-01.tmp").mkdir()  # a kill while stage 1 was being recorded
    assert len(ResumeStore(tmp_path / "state", "fingerprint-a").finished()) == 1
    assert not (tmp_path / "state" / "stage-01.tmp").exists()
    assert ResumeStore(tmp_path / "state", "fingerprint-b").finished() == []


def test_kill_between_renames_keeps_the_previous_copy(tmp_path):
    store = ResumeStore(tmp_path / "state", "fp")
    store.save_finished(0, {"result": {"x": 1}, "carry": ["m", 0.0]}, torch.nn.Linear(2, 2))
    # save_finished moves the old copy aside before renaming the new one in: a kill in between leaves *.old only
    os.replace(tmp_path / "state" / "stage-00", tmp_path / "state" / "stage-00.old")
    assert ResumeStore(tmp_path / "state", "fp").finished() == [{"result": {"x": 1}, "carry": ["m", 0.0]}]
