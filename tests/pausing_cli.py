"""``python tests/pausing_cli.py EVENT MARK xdner-args...``: the xdner CLI, paused at one named run event.

When the run emits ``EVENT`` (see :mod:`xtremedistil_ner.events`) this writes ``MARK`` and sleeps, so a test
can deliver a real SIGKILL at a known point of a real run. The hook lives here, not in the package.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from xtremedistil_ner.cli import app
from xtremedistil_ner.events import listen


def main() -> None:
    """Parse EVENT and MARK, register the pause, run the CLI on the remaining arguments."""
    event, mark = sys.argv[1], Path(sys.argv[2])

    def pause(name: str) -> None:
        if name == event:
            mark.write_text(name, encoding="utf-8")
            while True:  # ended by the test's signal
                time.sleep(60)

    listen(pause)
    app(args=sys.argv[3:], prog_name="xdner")


if __name__ == "__main__":
    main()
