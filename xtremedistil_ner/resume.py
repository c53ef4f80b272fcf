"""Crash-safe training state of the student stages, so that rerunning a killed ``xdner distill`` resumes it.

Layout of ``OUT/state`` (one run's student):

- ``meta.json``: the run fingerprint (recipe, teacher, data); a different fingerprint clears the directory.
- ``stage-00/`` ... one per finished stage: ``result.json`` (the :class:`~xtremedistil_ner.results.StageResult`
  and the dev metric the next stage starts from) and, for the latest one only, ``model.safetensors`` (the
  stage's chosen state).
- ``ckpt/``: the stage in progress, saved at each dev evaluation: ``model``, ``best`` (the best state so far) and
  ``optimizer`` tensors (safetensors), ``rng-<rank>.safetensors`` (each process's torch RNG), and ``progress.json``
  (stage index, step, epoch, batch position, best metric, the stage's curve so far, optimizer metadata).

Every directory is written as ``NAME.tmp`` and then renamed, so a kill at any point leaves either the old or
the new state, never a mix. Nothing is pickled: Accelerate's ``save_state`` writes optimizer and RNG state with
``torch.save``; we store the same pieces (model, optimizer, RNG, data position) as safetensors + JSON.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from xtremedistil_ner.atomic_files import write_json
from xtremedistil_ner.errors import XdnerError

STATE_VERSION = 1


def optimizer_tensors(state: Mapping[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split an optimizer ``state_dict`` into flat tensors (``"<param>.<key>"``) and JSON-safe metadata."""
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, values in state["state"].items():
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{pid}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(pid), {})[key] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def optimizer_state(tensors: Mapping[str, torch.Tensor], meta: Mapping[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`optimizer_tensors`: the ``state_dict`` to hand to ``optimizer.load_state_dict``."""
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        pid, _, key = name.partition(".")
        state.setdefault(int(pid), {})[key] = value
    for pid, values in meta["scalars"].items():
        state.setdefault(int(pid), {}).update(values)
    groups = [{k: tuple(v) if k == "betas" else v for k, v in g.items()} for g in meta["param_groups"]]
    return {"state": state, "param_groups": groups}


def rng_tensors() -> dict[str, torch.Tensor]:
    """This process's torch RNG states (CPU, and every CUDA device when present)."""
    out = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            out[f"cuda.{i}"] = s
    return out


def set_rng(tensors: Mapping[str, torch.Tensor]) -> None:
    """Restore what :func:`rng_tensors` saved."""
    torch.set_rng_state(tensors["cpu"])
    cuda = [tensors[k] for k in sorted(tensors) if k.startswith("cuda.")]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)


def _state_dict(module: torch.nn.Module | Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    items = module.state_dict().items() if isinstance(module, torch.nn.Module) else module.items()
    return {k: v.detach().cpu().contiguous() for k, v in items}


@dataclass
class Checkpoint:
    """A stage in progress as saved: where it stopped and the tensors to restore."""

    progress: dict[str, Any]
    model: dict[str, torch.Tensor]
    best: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    rng: dict[str, torch.Tensor] | None
    average: dict[str, torch.Tensor] | None = None  # the stage's weight average (distill.ema), if it keeps one


class ResumeStore:
    """Reads and writes ``OUT/state`` for one student run.

    Args:
        root: the state directory.
        fingerprint: identity of everything that decides the student's training (recipe, teacher, data).
        process_index, num_processes: this process's rank and the world size (only rank 0 writes, each rank
            writes its own RNG state).
        barrier: called where all processes must meet (``accelerator.wait_for_everyone``).
    """

    def __init__(
        self,
        root: Path,
        fingerprint: str,
        process_index: int = 0,
        num_processes: int = 1,
        barrier: Any = None,
    ) -> None:
        self.root = root
        self.fingerprint = fingerprint
        self.rank = process_index
        self.world = num_processes
        self.barrier = barrier or (lambda: None)
        self.resumed_from: str = ""
        if self.rank == 0:
            self._open()
        self.barrier()

    @property
    def is_main(self) -> bool:
        """Whether this process writes the shared files."""
        return self.rank == 0

    def _open(self) -> None:
        meta_path = self.root / "meta.json"
        meta: dict[str, Any] = {}
        if meta_path.is_file():
            try:
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError):
                meta = {}
        if meta.get("fingerprint") != self.fingerprint or meta.get("version") != STATE_VERSION:
            if self.root.exists():
                shutil.rmtree(self.root)
            self.root.mkdir(parents=True)
            write_json(meta_path, {"version": STATE_VERSION, "fingerprint": self.fingerprint})
        for leftover in self.root.glob("*.tmp"):  # a kill while writing: the half-written copy is dropped
            shutil.rmtree(leftover, ignore_errors=True)
        for old in self.root.glob("*.old"):  # a kill between the two renames: the old copy is the valid one
            target = old.with_suffix("")
            if target.exists():
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(old, target)

    # ------------------------------------------------------------------------------------------- finished stages

    def finished(self) -> list[dict[str, Any]]:
        """``result.json`` of every finished stage, in order (stops at the first gap)."""
        out: list[dict[str, Any]] = []
        while (path := self.root / f"stage-{len(out):02d}" / "result.json").is_file():
            out.append(json.loads(path.read_text(encoding="utf-8")))
        return out

    def finished_model(self, index: int) -> dict[str, torch.Tensor]:
        """The chosen state of finished stage ``index``.

        Raises:
            XdnerError: the weights are missing (a state directory edited by hand).
        """
        path = self.root / f"stage-{index:02d}" / "model.safetensors"
        if not path.is_file():
            raise XdnerError(f"{path}: missing; delete {self.root} to restart the student from scratch")
        return load_file(str(path))

    def save_finished(self, index: int, result: dict[str, Any], model: torch.nn.Module) -> None:
        """Record stage ``index`` as done with its chosen state (collective); drop the in-progress checkpoint."""
        name = f"stage-{index:02d}"

        def write(tmp: Path) -> None:
            save_file(_state_dict(model), str(tmp / "model.safetensors"))
            write_json(tmp / "result.json", result)

        self._collective_write(name, write)
        if self.is_main:
            if index > 0:  # only the latest finished stage's weights are needed to resume
                (self.root / f"stage-{index - 1:02d}" / "model.safetensors").unlink(missing_ok=True)
            shutil.rmtree(self.root / "ckpt", ignore_errors=True)
        self.barrier()

    def finished_rng(self, index: int) -> dict[str, torch.Tensor] | None:
        """This process's RNG state at the end of finished stage ``index`` (None if saved by another world size)."""
        path = self.root / f"stage-{index:02d}" / f"rng-{self.rank}.safetensors"
        meta = self.root / f"stage-{index:02d}" / "world.json"
        if not path.is_file() or not meta.is_file() or json.loads(meta.read_text())["world"] != self.world:
            return None
        return load_file(str(path))

    def _collective_write(self, name: str, write_main: Any) -> None:
        """Write ``root/name`` as ``name.tmp`` (each rank adds its RNG state), then rename it into place."""
        tmp = self.root / f"{name}.tmp"
        if self.is_main:
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
        self.barrier()
        save_file(rng_tensors(), str(tmp / f"rng-{self.rank}.safetensors"))
        self.barrier()
        if self.is_main:
            write_main(tmp)
            write_json(tmp / "world.json", {"world": self.world})
            target, old = self.root / name, self.root / f"{name}.old"
            shutil.rmtree(old, ignore_errors=True)
            if target.exists():
                os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        self.barrier()

    # ------------------------------------------------------------------------------------------- stage in progress

    def save_checkpoint(
        self,
        progress: dict[str, Any],
        model: torch.nn.Module,
        best: Mapping[str, torch.Tensor],
        optimizer: torch.optim.Optimizer,
        average: Mapping[str, torch.Tensor] | None = None,
    ) -> None:
        """Save the stage in progress (collective: every process calls it at the same step)."""

        def write(tmp: Path) -> None:
            tensors, meta = optimizer_tensors(optimizer.state_dict())
            save_file(_state_dict(model), str(tmp / "model.safetensors"))
            save_file(_state_dict(best), str(tmp / "best.safetensors"))
            save_file(tensors, str(tmp / "optimizer.safetensors"))
            if average is not None:
                save_file(dict(average), str(tmp / "average.safetensors"))
            write_json(tmp / "progress.json", {**progress, "optimizer": meta, "world": self.world})

        self._collective_write("ckpt", write)

    def checkpoint(self, stage_index: int) -> Checkpoint | None:
        """The saved state of stage ``stage_index`` in progress, if there is one."""
        root = self.root / "ckpt"
        path = root / "progress.json"
        if not path.is_file():
            return None
        progress = json.loads(path.read_text(encoding="utf-8"))
        if progress.get("stage_index") != stage_index:
            return None
        rng_path = root / f"rng-{self.rank}.safetensors"
        same_world = progress.get("world") == self.world and rng_path.is_file()
        self.resumed_from = f"{progress.get('stage')} step {progress.get('step')}"
        return Checkpoint(
            progress=progress,
            model=load_file(str(root / "model.safetensors")),
            best=load_file(str(root / "best.safetensors")),
            optimizer=optimizer_state(load_file(str(root / "optimizer.safetensors")), progress["optimizer"]),
            rng=load_file(str(rng_path)) if same_world else None,
            average=load_file(str(root / "average.safetensors")) if (root / "average.safetensors").is_file() else None,
        )
