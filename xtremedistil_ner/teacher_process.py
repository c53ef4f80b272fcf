"""The teacher side of a one-process run in a child process (``[run] teacher_process = "child"``): the parent's end.

Why: on a 2-core Intel Xeon the students of a run trained ~1.2x slower in the process that had fine-tuned and
run the teacher than in a fresh process, with the same F1 (docs/RESULTS.md, issue 28). The child runs
:func:`xtremedistil_ner.pipeline.teacher_side` (data, fine-tuning into ``OUT/teacher``, the test scores into
``OUT/teacher_test_scores.json``, labeling into ``OUT/cache``) and exits; the parent then reuses all three as a
rerun of the same run directory does, so the numbers are the same as with ``same``. The child's end is
:mod:`xtremedistil_ner.teacher_child` (``python -m xtremedistil_ner.teacher_child OUT FD``).

Protocol: the parent writes the run's settings (``RunConfig.to_dict()``) as JSON to the child's stdin and reads
JSON lines from a pipe whose descriptor it passes: ``{"task": id, "description": text, "total": n}``,
``{"advance": id, "n": k}``, ``{"note": text}``, ``{"event": name}`` (:mod:`xtremedistil_ner.events`, re-emitted in
the parent), then ``{"done": {...}}`` or ``{"error": message}``. The child's stderr is the parent's: warnings
and a traceback of a bug reach the user as they would in one process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from xtremedistil_ner.config import RunConfig
from xtremedistil_ner.errors import XdnerError
from xtremedistil_ner.events import emit
from xtremedistil_ner.progress import Progress

ADVANCE_SECONDS = 0.2  # a task's progress is sent at most this often (and at its end)


@dataclass
class ChildResult:
    """What the child measured: step timings (s), throughput (labeling, per-step peak RSS) and the teacher's origin."""

    timings: dict[str, float]
    throughput: dict[str, Any]
    fine_tuned_now: bool


@dataclass
class _Task:
    """A task of the child: units to do, done, already sent to the parent, and when they were last sent."""

    total: int
    done: int = 0
    sent: int = 0
    sent_at: float = field(default_factory=time.monotonic)


class PipeProgress(Progress):
    """Progress of the child, written as JSON lines to the parent (advances coalesced per task)."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.tasks: list[_Task] = []  # the task id the parent knows is the index

    def send(self, message: dict[str, Any]) -> None:
        """One JSON line to the parent."""
        self.stream.write(json.dumps(message) + "\n")
        self.stream.flush()

    def task(self, description: str, total: int) -> Callable[[int], None]:
        """Announce a task; its advances are sent every :data:`ADVANCE_SECONDS` and when it completes."""
        self.flush()
        index = len(self.tasks)
        self.tasks.append(_Task(total))
        self.send({"task": index, "description": description, "total": total})

        def advance(n: int) -> None:
            task = self.tasks[index]
            task.done += n
            now = time.monotonic()
            if task.done >= task.total or now - task.sent_at >= ADVANCE_SECONDS:
                self._send_advance(index, now)

        return advance

    def _send_advance(self, index: int, now: float) -> None:
        task = self.tasks[index]
        if task.done > task.sent:
            self.send({"advance": index, "n": task.done - task.sent})
            task.sent, task.sent_at = task.done, now

    def flush(self) -> None:
        """Send every advance not sent yet."""
        now = time.monotonic()
        for index in range(len(self.tasks)):
            self._send_advance(index, now)

    def note(self, text: str) -> None:
        """A status line for the parent to show."""
        self.flush()
        self.send({"note": text})


def follow(lines: Iterable[str], progress: Progress) -> tuple[dict[str, Any] | None, str | None]:
    """Render the child's messages with ``progress``; return its ``done`` payload and its error message."""
    advances: dict[int, Callable[[int], None]] = {}
    done: dict[str, Any] | None = None
    error: str | None = None
    for line in lines:
        try:
            message = json.loads(line)
        except ValueError:
            continue  # not ours (nothing else writes to this pipe; a torn last line of a killed child)
        if "task" in message:
            advances[message["task"]] = progress.task(message["description"], message["total"])
        elif "advance" in message:
            advances.get(message["advance"], lambda n: None)(message["n"])
        elif "note" in message:
            progress.note(message["note"])
        elif "event" in message:
            emit(message["event"])
        elif "done" in message:
            done = message["done"]
        elif "error" in message:
            error = message["error"]
    return done, error


def _child_env() -> dict[str, str]:
    """The parent's environment with this package's directory first on ``PYTHONPATH`` (a source checkout runs too).

    ``PYTHONSAFEPATH`` keeps ``python -m`` from putting the working directory before it: run from inside another
    checkout of the toolkit, the child would otherwise import that one's code, not the parent's.
    """
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    env["PYTHONSAFEPATH"] = "1"
    return env


def run_teacher_child(cfg: RunConfig, out: Path, progress: Progress) -> ChildResult:
    """Run the teacher side of ``cfg`` into ``out`` in a child process; return what it measured.

    Raises:
        XdnerError: the child's own error message (bad data, recipe or paths), or, when it ended without
            finishing (killed, out of memory, a bug: its traceback is above), what to do next.
    """
    read_fd, write_fd = os.pipe()
    command = [sys.executable, "-m", "xtremedistil_ner.teacher_child", str(out), str(write_fd)]
    try:
        child = subprocess.Popen(command, stdin=subprocess.PIPE, pass_fds=(write_fd,), env=_child_env())
    except OSError as exc:
        os.close(read_fd)
        raise XdnerError(
            f"cannot start the teacher's child process ({exc}); set run.teacher_process = 'same'"
        ) from None
    finally:
        os.close(write_fd)
    try:
        with os.fdopen(read_fd, encoding="utf-8") as lines:
            assert child.stdin is not None
            child.stdin.write(json.dumps(cfg.to_dict()).encode())
            child.stdin.close()
            done, error = follow(lines, progress)
        code = child.wait()
    finally:
        if child.poll() is None:  # the parent was interrupted: the child goes with it
            child.terminate()
            child.wait()
    if error is not None:
        raise XdnerError(error)
    if done is None or code != 0:
        raise XdnerError(
            f"the teacher's child process ended with exit code {code} before its work was done (its output is "
            "above). Run the same command again: a trained teacher and finished cache shards in the run directory "
            "are reused; or set run.teacher_process = 'same'"
        )
    return ChildResult(dict(done["timings"]), dict(done["throughput"]), bool(done["fine_tuned_now"]))
