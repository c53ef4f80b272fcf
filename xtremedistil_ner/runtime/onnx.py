"""The serving runtime: an exported student tagged with ONNX Runtime, NumPy and ``tokenizers`` (no torch).

Reads a student directory written by ``xdner distill`` and exported by ``xdner export``: ``tags.json``,
``vocab.json``, ``tokenizer/tokenizer.json`` and ``onnx/{model.onnx, model.int8.onnx, crf.json}``. Nothing
here imports torch or transformers (a test checks ``sys.modules``), so a deployment needs ``numpy``,
``tokenizers``, ``onnxruntime`` and ``regex`` only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from xtremedistil_ner.data.tags import TagVocab
from xtremedistil_ner.errors import XdnerError
from xtremedistil_ner.runtime.crf import CrfScores, decode_with_scores
from xtremedistil_ner.runtime.features import BareTokenizer, Featurized, dense_inputs, piece_lookup
from xtremedistil_ner.runtime.pieces import PieceCache
from xtremedistil_ner.runtime.predict import Tagger

ONNX_FILES = {"int8": "model.int8.onnx", "float32": "model.onnx"}


def require_onnxruntime() -> Any:
    """The ``onnxruntime`` module, or a one-line error saying how to install it."""
    try:
        import onnxruntime
    except ImportError:
        raise XdnerError("ONNX needs onnxruntime: pip install 'xtremedistil_ner[export]'") from None
    return onnxruntime


SMALL_BATCH = 8  # fewer sentences than this run on one thread (docs/RESULTS.md, "One bidirectional LSTM node")


class OnnxBackend:
    """ONNX Runtime emissions + NumPy CRF: the :class:`~xtremedistil_ner.runtime.predict.Backend` of an export.

    With ``threads=0`` a batch of fewer than :data:`SMALL_BATCH` sentences runs on a second, single-threaded
    session (made on first use): handing a small LSTM step to a second thread costs more than it saves.

    Args:
        model: ``model.onnx`` or ``model.int8.onnx`` (``crf.json`` beside it).
        lookup: ``(tokenizer_size,)`` tokenizer id -> student id.
        threads: intra-op threads for every batch (0: ONNX Runtime's default, one thread for small batches).
    """

    def __init__(self, model: Path, lookup: np.ndarray, threads: int = 0) -> None:
        crf_path = model.parent / "crf.json"
        if not model.is_file() or not crf_path.is_file():
            raise XdnerError(f"{model.parent}: no exported student (run: xdner export STUDENT)")
        self.model = model
        self.session = _session(model, threads)
        self._small: Any = None if threads == 0 else self.session
        self.crf = CrfScores.from_dict(json.loads(crf_path.read_text(encoding="utf-8")))
        self.lookup = lookup
        self.takes_shapes = any(i.name == "word_shapes" for i in self.session.get_inputs())

    def session_for(self, batch: int) -> Any:
        """The session that runs a batch of ``batch`` sentences."""
        if batch >= SMALL_BATCH:
            return self.session
        if self._small is None:
            self._small = _session(self.model, 1)
        return self._small

    def feeds(self, features: Featurized, ids: Sequence[int]) -> dict[str, np.ndarray]:
        """The session's inputs for sentences ``ids``: ``piece_ids``, ``piece_counts`` (and ``word_shapes``)."""
        pieces, counts, shapes = dense_inputs(features, self.lookup, list(ids))
        feed = {"piece_ids": pieces, "piece_counts": counts}
        if self.takes_shapes:
            feed["word_shapes"] = shapes
        return feed

    def emissions(self, features: Featurized, ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """``(batch, seq, num_tags)`` emissions and ``(batch,)`` lengths of sentences ``ids``."""
        feed = self.feeds(features, ids)
        (emissions,) = self.session_for(len(ids)).run(None, feed)
        return emissions, (feed["piece_counts"] > 0).sum(1)

    def tag(self, features: Featurized, ids: Sequence[int]) -> list[tuple[list[int], list[float]]]:
        """Viterbi paths and the marginal of each chosen tag."""
        emissions, lengths = self.emissions(features, ids)
        return decode_with_scores(emissions, lengths, self.crf)


def _session(model: Path, threads: int) -> Any:
    """An ONNX Runtime CPU session on ``model`` with ``threads`` intra-op threads (0: its default)."""
    ort = require_onnxruntime()
    options = ort.SessionOptions()
    options.log_severity_level = 3
    # intra-op threads busy-wait briefly between runs (ONNX Runtime's default): text -> entities is faster so
    # with the one-LSTM-node graph (docs/RESULTS.md, "One bidirectional LSTM node per layer")
    options.add_session_config_entry("session.intra_op.allow_spinning", "1")
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])


def load_bare_tokenizer(student_dir: Path) -> BareTokenizer:
    """The student's tokenizer from ``tokenizer/tokenizer.json`` with the ``tokenizers`` library alone.

    Raises:
        XdnerError: the file is missing or unreadable.
    """
    from tokenizers import Tokenizer

    folder = student_dir / "tokenizer"
    path = folder / "tokenizer.json"
    if not path.is_file():
        raise XdnerError(f"{folder}: no tokenizer.json (the student's tokenizer must be a fast tokenizer)")
    try:
        backend = Tokenizer.from_file(str(path))
    except Exception as exc:  # the Rust side raises plain Exceptions on bad JSON
        raise XdnerError(f"{path}: cannot read the tokenizer: {exc}") from None
    config_path = folder / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
    unk = config.get("unk_token")
    if isinstance(unk, dict):  # older files store added tokens as {"content": ...}
        unk = unk.get("content")
    return BareTokenizer(backend, unk if isinstance(unk, str) else None)


def student_pieces(student_dir: Path) -> tuple[str, ...]:
    """The student's pieces by student id (``vocab.json``; id 0 is its unknown row)."""
    return tuple(json.loads((student_dir / "vocab.json").read_text(encoding="utf-8")))


def load_onnx_tagger(student_dir: Path, precision: str = "int8", threads: int = 0) -> Tagger:
    """A :class:`~xtremedistil_ner.runtime.predict.Tagger` on the student's ONNX export.

    Args:
        student_dir: a student directory with an ``onnx/`` export (``xdner export STUDENT``).
        precision: ``"int8"`` (``model.int8.onnx``) or ``"float32"`` (``model.onnx``).
        threads: ONNX Runtime intra-op threads (0: its default).

    Raises:
        XdnerError: not a student directory, no export, or onnxruntime missing.
    """
    student_dir = Path(student_dir)
    for name in ("tags.json", "vocab.json"):
        if not (student_dir / name).is_file():
            raise XdnerError(f"{student_dir}: not a student directory ({name} missing)")
    if precision not in ONNX_FILES:
        raise XdnerError(f"precision {precision!r}: choose one of {', '.join(ONNX_FILES)}")
    tokenizer = load_bare_tokenizer(student_dir)
    lookup = piece_lookup(student_pieces(student_dir), tokenizer)
    backend = OnnxBackend(student_dir / "onnx" / ONNX_FILES[precision], lookup, threads)
    name = "onnx-int8" if precision == "int8" else "onnx"
    return Tagger(backend, PieceCache(tokenizer), TagVocab.load(student_dir / "tags.json"), name)
