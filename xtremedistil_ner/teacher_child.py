"""The child's end of ``[run] teacher_process = "child"``: ``python -m xtremedistil_ner.teacher_child OUT FD``.

Reads the run's settings (``RunConfig.to_dict()`` as JSON) from stdin, runs
:func:`xtremedistil_ner.pipeline.teacher_side` into ``OUT`` and reports on descriptor ``FD`` in the protocol of
:mod:`xtremedistil_ner.teacher_process` (progress, notes, run events, then what it measured or its error).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from xtremedistil_ner.config import config_from_saved
from xtremedistil_ner.errors import XdnerError
from xtremedistil_ner.events import listen
from xtremedistil_ner.pipeline import new_state, teacher_side
from xtremedistil_ner.teacher_process import PipeProgress


def child_main(out: str, fd: int) -> int:
    """The child: read the settings from stdin, run the teacher side into ``out``, report on descriptor ``fd``."""
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        progress = PipeProgress(stream)
        stop = listen(lambda name: progress.send({"event": name}))
        try:
            cfg = config_from_saved(json.loads(sys.stdin.read()), f"{out}: the teacher's child process settings")
            state = new_state(cfg, Path(out), progress)
            side = teacher_side(state)
            progress.flush()
            fine_tuned = side.teacher.trained_now
            progress.send(
                {"done": {"timings": state.timings, "throughput": state.throughput, "fine_tuned_now": fine_tuned}}
            )
        except XdnerError as exc:
            progress.flush()
            progress.send({"error": str(exc)})
            return 2
        finally:
            stop()
    return 0


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1], int(sys.argv[2])))
