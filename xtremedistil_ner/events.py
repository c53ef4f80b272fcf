"""Named events of a run (a labeled shard, a training step, the start of an evaluation), for listeners.

The run announces where it is with :func:`emit`; anything that wants to know (a progress display, a test
that stops a real run at a known point) registers with :func:`listen`. With no listener an event costs one
empty loop. Names: ``label:shard:K`` (shard K written), ``step:STAGE:N`` (step N of a stage done, after any
dev evaluation and checkpoint), ``eval:student`` (the student's test evaluation begins).
"""

from __future__ import annotations

from collections.abc import Callable

Listener = Callable[[str], None]
_listeners: list[Listener] = []


def listen(listener: Listener) -> Callable[[], None]:
    """Call ``listener(name)`` on every event from now on; returns a function that stops it."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener)


def emit(name: str) -> None:
    """Announce event ``name`` to every listener, in the order they registered."""
    for listener in tuple(_listeners):
        listener(name)
