"""``[run] teacher_process = "child"``: the teacher side in a child process gives the run of one process, bit for bit.

Real runs of recipes/smoke.toml (a tiny random teacher, a real child process); the protocol's two ends are
checked against each other without a process.
"""

from __future__ import annotations

import io
import json
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.conftest import ROOT, need_shared
from xtremedistil_ner.config import load_recipe, with_overrides
from xtremedistil_ner.errors import XdnerError
from xtremedistil_ner.events import listen
from xtremedistil_ner.pipeline import run_distill
from xtremedistil_ner.progress import Progress
from xtremedistil_ner.teacher_process import PipeProgress, follow


class Recorder(Progress):
    """Keeps what a progress sink was told: tasks with their totals and advanced units, notes."""

    def __init__(self) -> None:
        self.tasks: list[list] = []
        self.notes: list[str] = []

    def task(self, description: str, total: int) -> Callable[[int], None]:
        row = [description, total, 0]
        self.tasks.append(row)

        def advance(n: int) -> None:
            row[2] += n

        return advance

    def note(self, text: str) -> None:
        self.notes.append(text)


def _child_run(out: Path, on_event: Callable[[str], None] = lambda name: None) -> Recorder:
    cfg = with_overrides(load_recipe(ROOT / "recipes" / "smoke.toml"), {"teacher_process": "child"})
    stop = listen(on_event)
    cwd = os.getcwd()
    os.chdir(ROOT)  # smoke.toml's data paths are relative to the repository, as for the smoke_run fixture
    progress = Recorder()
    try:
        run_distill(cfg, out, progress)
    finally:
        os.chdir(cwd)
        stop()
    return progress


def _same_student(run: Path, ref: Path) -> None:
    ours = json.loads((run / "report.json").read_text(encoding="utf-8"))
    theirs = json.loads((ref / "report.json").read_text(encoding="utf-8"))
    assert (ours["macro"], ours["languages"]) == (theirs["macro"], theirs["languages"])
    weights, expected = (
        load_file(str(run / "student" / "model.safetensors")),
        load_file(str(ref / "student" / "model.safetensors")),
    )
    assert weights.keys() == expected.keys()
    for name, value in expected.items():
        assert torch.equal(weights[name], value), name


def test_pipe_progress_and_follow_agree():
    stream = io.StringIO()
    child = PipeProgress(stream)
    advance = child.task("teacher: fine-tune", 5)
    for _ in range(5):
        advance(1)
    child.note("teacher: test macro F1 0.00")
    advance_label = child.task("teacher: label transfer set", 80)
    advance_label(30)
    child.flush()
    child.send({"done": {"timings": {"data": 0.5}}})
    parent = Recorder()
    done, error = follow([*stream.getvalue().splitlines(keepends=True), "torn {"], parent)
    assert done == {"timings": {"data": 0.5}} and error is None
    assert parent.tasks == [["teacher: fine-tune", 5, 5], ["teacher: label transfer set", 80, 30]]
    assert parent.notes == ["teacher: test macro F1 0.00"]


def test_child_process_gives_the_same_student_and_reports_its_steps(smoke_run, tmp_path):
    need_shared()
    events: list[str] = []
    out = tmp_path / "child"
    _child_run(out, events.append)
    assert "label:shard:0" in events  # the child's events reach the parent's listeners
    _same_student(out, smoke_run)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    steps = list(report["timings_seconds"])
    assert steps[:5] == ["data", "teacher_train", "teacher_eval", "teacher_label", "teacher_reload"]
    assert report["throughput"]["teacher_process"] == "child"
    assert report["throughput"]["teacher_label"]["shards_computed"] >= 1  # the child's labeling, not the reread
    peaks = report["throughput"]["peak_rss_mib"]["steps"]
    assert set(steps) <= set(peaks) and all(peaks[s] > 0 for s in steps)
    assert "ran in a child process" in (out / "report.md").read_text(encoding="utf-8")


def test_killed_child_is_one_error_and_a_rerun_finishes_the_same(smoke_run, tmp_path):
    """SIGKILL of the child after its first cache shard: one XdnerError; the rerun reuses the teacher."""
    need_shared()
    if not Path(f"/proc/{os.getpid()}/task").is_dir():
        pytest.skip("finds the child's pid in /proc (Linux)")
    out = tmp_path / "killed"

    def kill_children(name: str) -> None:
        if name == "label:shard:0":
            for task in Path(f"/proc/{os.getpid()}/task").iterdir():
                for pid in (task / "children").read_text().split():
                    os.kill(int(pid), signal.SIGKILL)

    with pytest.raises(XdnerError, match=r"exit code -9 before its work was done.*Run the same command again"):
        _child_run(out, kill_children)
    assert (out / "teacher").is_dir() and not (out / "report.json").exists()
    notes = " ".join(_child_run(out).notes)
    assert f"reusing trained teacher {out / 'teacher'}" in notes and "1 shard(s) computed" not in notes
    _same_student(out, smoke_run)


def test_child_error_is_the_same_one_line_error(tmp_path):
    need_shared()
    cfg = load_recipe(ROOT / "recipes" / "smoke.toml", **{"data.data_dir": str(tmp_path / "missing")})
    messages = []
    for mode in ("same", "child"):
        with pytest.raises(XdnerError) as caught:
            run_distill(with_overrides(cfg, {"teacher_process": mode}), tmp_path / mode, Recorder())
        messages.append(str(caught.value))
    assert messages[0] == messages[1] and "missing" in messages[0] and "\n" not in messages[0]


def test_dev_targets_from_their_cache_equal_a_fresh_labeling(smoke_run, tmp_path):
    """``OUT/cache-dev`` (what the parent reads back) holds the in-memory targets to the last bit, and is reused."""
    need_shared()
    import shutil

    import numpy as np

    from xtremedistil_ner.data.corpus import load_corpus
    from xtremedistil_ner.distill import WordTargets
    from xtremedistil_ner.languages import resolve_langs
    from xtremedistil_ner.pipeline import dev_targets, ensure_teacher, new_state, teacher_predict

    cfg = load_recipe(ROOT / "recipes" / "smoke.toml")
    out = tmp_path / "run"
    shutil.copytree(smoke_run / "teacher", out / "teacher")
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        corpus = load_corpus(cfg.data, resolve_langs(cfg.data.langs))
    finally:
        os.chdir(cwd)
    state = new_state(cfg, out, Recorder())
    teacher = ensure_teacher(state, corpus, corpus.tags())
    dev = corpus.split("dev")
    fresh = WordTargets.stack(teacher_predict(state, teacher, dev, True, "label dev"))
    events: list[str] = []
    stop = listen(events.append)
    try:
        first, again = dev_targets(state, teacher, dev), dev_targets(state, teacher, dev)
    finally:
        stop()
    assert events == ["label:dev-shard:0"]  # labeled once, then read back
    for got in (first, again):
        for name in ("tags", "logits", "hidden"):
            want, have = getattr(fresh, name), getattr(got, name)
            assert have.dtype == want.dtype and np.array_equal(have, want), name


def test_child_imports_the_parents_package_from_inside_another_checkout(tmp_path):
    """Run from a directory holding another ``xtremedistil_ner`` (an older clone), the child still runs this one."""
    import subprocess
    import sys

    import xtremedistil_ner
    from xtremedistil_ner.teacher_process import _child_env

    (tmp_path / "xtremedistil_ner").mkdir()
    (tmp_path / "xtremedistil_ner" / "__init__.py").write_text("raise SystemExit('the other checkout')\n")
    command = [sys.executable, "-c", "import xtremedistil_ner; print(xtremedistil_ner.__file__)"]
    seen = subprocess.run(command, cwd=tmp_path, env=_child_env(), capture_output=True, text=True, check=True)
    assert Path(seen.stdout.strip()) == Path(xtremedistil_ner.__file__).resolve()
    env = {k: v for k, v in _child_env().items() if k != "PYTHONSAFEPATH"}
    unsafe = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert "the other checkout" in unsafe.stderr  # what the child did before
