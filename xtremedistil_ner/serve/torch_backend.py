"""The PyTorch student as a :class:`~xtremedistil_ner.runtime.predict.Backend`, and a tagger on it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from xtremedistil_ner.checkpoint import load_student
from xtremedistil_ner.runtime.crf import decode_with_scores
from xtremedistil_ner.runtime.features import Featurized
from xtremedistil_ner.runtime.pieces import PieceCache
from xtremedistil_ner.runtime.predict import Tagger
from xtremedistil_ner.student.model import StudentTagger
from xtremedistil_ner.student.vocab import make_batch


class TorchBackend:
    """The PyTorch student on ``device``; the CRF decodes in NumPy, vectorised over the batch (as for ONNX).

    Args:
        model: the student.
        lookup: ``(tokenizer_size,)`` tokenizer id -> student id.
        device: where the model runs.
    """

    def __init__(self, model: StudentTagger, lookup: np.ndarray, device: torch.device | str = "cpu") -> None:
        self.model = model.eval().to(device)
        self.lookup = lookup
        self.device = device
        self.crf = model.head.crf.export_scores()

    def tag(self, features: Featurized, ids: Sequence[int]) -> list[tuple[list[int], list[float]]]:
        """Viterbi tag ids and the posterior marginal of each chosen tag, per sentence of ``ids``."""
        with torch.inference_mode():
            batch = make_batch(features, self.lookup, ids).to(self.device)
            # shape: (batch, seq, num_tags)
            emissions = self.model(batch).emissions.float().cpu().numpy()
        return decode_with_scores(emissions, batch.mask.sum(1).cpu().numpy(), self.crf)


def load_torch_tagger(student_dir: Path, device: torch.device | str = "cpu") -> Tagger:
    """A :class:`~xtremedistil_ner.runtime.predict.Tagger` on the PyTorch student of ``student_dir``.

    Raises:
        XdnerError: not a student directory, or one from an incompatible version.
    """
    loaded = load_student(Path(student_dir))
    backend = TorchBackend(loaded.model, loaded.lookup, device)
    return Tagger(backend, PieceCache(loaded.tokenizer), loaded.tags, "pytorch")
