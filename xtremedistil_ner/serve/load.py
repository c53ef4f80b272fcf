"""Load a student for tagging on the fastest runtime it has: ONNX int8 once exported, else PyTorch."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from xtremedistil_ner.errors import XdnerError
from xtremedistil_ner.runtime.onnx import ONNX_FILES
from xtremedistil_ner.runtime.predict import Tagger

RUNTIMES = ("auto", "onnx-int8", "onnx", "pytorch")


def best_runtime(student_dir: Path) -> str:
    """``onnx-int8`` if the student has an int8 export and onnxruntime is installed, else ``pytorch``."""
    exported = (Path(student_dir) / "onnx" / ONNX_FILES["int8"]).is_file()
    return "onnx-int8" if exported and importlib.util.find_spec("onnxruntime") is not None else "pytorch"


def load_tagger(student_dir: str | Path, runtime: str = "auto", threads: int = 0) -> Tagger:
    """A tagger on ``runtime`` (one of :data:`RUNTIMES`; ``auto``: :func:`best_runtime`).

    Args:
        student_dir: a student directory (``runs/latest/student``).
        runtime: ``auto``, ``onnx-int8``, ``onnx`` or ``pytorch``.
        threads: ONNX Runtime intra-op threads (0: its default); PyTorch uses its own setting.

    Raises:
        XdnerError: unknown runtime, not a student directory, or no export for an ONNX runtime.
    """
    student_dir = Path(student_dir)
    if runtime not in RUNTIMES:
        raise XdnerError(f"runtime {runtime!r}: choose one of {', '.join(RUNTIMES)}")
    if runtime == "auto":
        runtime = best_runtime(student_dir)
    if runtime == "pytorch":
        from xtremedistil_ner.serve.torch_backend import load_torch_tagger

        return load_torch_tagger(student_dir)
    from xtremedistil_ner.runtime.onnx import load_onnx_tagger

    return load_onnx_tagger(student_dir, "int8" if runtime == "onnx-int8" else "float32", threads)
