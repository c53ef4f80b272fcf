"""Progress reporting hooks: the library calls them, the CLI renders them (rich); the default does nothing."""

from __future__ import annotations

from collections.abc import Callable


class Progress:
    """No-op progress sink; subclass to render.

    ``task(description, total)`` starts a task and returns ``advance(n)``; ``note(text)`` reports a finished step.
    """

    def task(self, description: str, total: int) -> Callable[[int], None]:
        """Start a task of ``total`` units; return a function that advances it."""
        return lambda n: None

    def note(self, text: str) -> None:
        """A one-line status message."""

    def close(self) -> None:
        """Stop rendering."""
