"""``xdner predict`` as a library call: raw text lines in, rendered predictions and counts out."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from xtremedistil_ner.atomic_files import read_utf8_lines
from xtremedistil_ner.progress import Progress
from xtremedistil_ner.runtime.predict import Prediction
from xtremedistil_ner.serve.load import load_tagger

CHUNK = 8192  # sentences tagged and rendered at a time: bounded memory for intermediate arrays


@dataclass
class TaggedText:
    """What tagging a text gave: the rendered output and what it holds."""

    text: str
    runtime: str
    sentences: int = 0
    words: int = 0
    entity_types: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def words_per_second(self) -> float:
        """Words over the whole call, the student's loading included."""
        return self.words / max(self.seconds, 1e-9)


def _render(prediction: Prediction, fmt: str) -> str:
    return prediction.to_json() + "\n" if fmt == "jsonl" else prediction.to_conll()


def tag_text(
    student: Path,
    data: bytes,
    source: str,
    fmt: str = "jsonl",
    batch_size: int = 64,
    runtime: str = "auto",
    progress: Progress | None = None,
) -> TaggedText:
    """Tag ``data`` (UTF-8, one sentence a line) with the student in ``student``.

    Every line is checked before any work (``source`` names the input in errors). ``runtime`` as
    :func:`~xtremedistil_ner.serve.load.load_tagger`. ``jsonl`` gives one JSON object per sentence (text and
    entity spans), ``conll`` ``word<TAB>tag`` lines with a blank line after each sentence.

    Raises:
        XdnerError: bytes that are not UTF-8, or a student that cannot be loaded.
    """
    start = time.perf_counter()
    texts = read_utf8_lines(data, source)
    tagger = load_tagger(student, runtime)
    result = TaggedText("", tagger.runtime, sentences=len(texts))
    advance = (progress or Progress()).task("predict: sentences", len(texts))
    parts = []
    for first in range(0, len(texts), CHUNK):
        chunk = tagger.predict(texts[first : first + CHUNK], batch_size=batch_size)
        parts.append("".join(_render(p, fmt) for p in chunk))
        result.entity_types.update(e.type for p in chunk for e in p.entities)
        result.words += sum(len(p.words) for p in chunk)
        advance(len(chunk))
    result.text = "".join(parts)
    result.seconds = time.perf_counter() - start
    return result
