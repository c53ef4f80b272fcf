"""The student's CRF in NumPy, for runtimes without PyTorch (beside ONNX emissions): Viterbi and marginals.

Scores are the CRF's with its IOB2 constraints already added (see :func:`crf_scores`), so decoding here
equals :meth:`CRF.decode` and never emits ``O -> I-X``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xtremedistil_ner.student.crf import CRF


@dataclass(frozen=True)
class CrfScores:
    """``start (num_tags,)``, ``transitions (num_tags, num_tags)`` (from, to) and ``end (num_tags,)``."""

    start: np.ndarray
    transitions: np.ndarray
    end: np.ndarray

    def to_dict(self) -> dict[str, list]:
        """JSON-safe lists."""
        return {"start": self.start.tolist(), "transitions": self.transitions.tolist(), "end": self.end.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, list]) -> CrfScores:
        """Read what :meth:`to_dict` wrote."""
        return cls(*(np.asarray(data[k], np.float32) for k in ("start", "transitions", "end")))


def crf_scores(crf: CRF) -> CrfScores:
    """The effective (constrained) scores of a trained CRF."""
    start, trans = crf._scores()
    return CrfScores(
        start.detach().cpu().numpy(), trans.detach().cpu().numpy(), crf.end_transitions.detach().cpu().numpy()
    )


def viterbi(emissions: np.ndarray, length: int, crf: CrfScores) -> list[int]:
    """Best tag path of one sentence.

    Args:
        emissions: ``(seq, num_tags)``; rows past ``length`` are ignored.
        length: real words (>= 1).
        crf: the CRF's scores.
    """
    score = crf.start + emissions[0]
    history = []
    for t in range(1, length):
        # shape: (num_tags, num_tags) = score_i + trans_ij + emit_j
        total = score[:, None] + crf.transitions + emissions[t][None, :]
        history.append(total.argmax(0))
        score = total.max(0)
    path = [int((score + crf.end).argmax())]
    for idx in reversed(history):
        path.append(int(idx[path[-1]]))
    return path[::-1]


def _logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
    top = x.max(axis=axis, keepdims=True)
    return np.squeeze(top, axis) + np.log(np.exp(x - top).sum(axis=axis))


def marginals(emissions: np.ndarray, length: int, crf: CrfScores) -> np.ndarray:
    """Posterior tag marginals ``(length, num_tags)`` of one sentence by forward-backward."""
    emit = emissions[:length].astype(np.float64)
    trans = crf.transitions.astype(np.float64)
    alpha = np.empty_like(emit)
    beta = np.empty_like(emit)
    alpha[0] = crf.start + emit[0]
    for t in range(1, length):
        alpha[t] = _logsumexp(alpha[t - 1][:, None] + trans, 0) + emit[t]
    beta[-1] = crf.end
    for t in range(length - 2, -1, -1):
        beta[t] = _logsumexp(trans + (emit[t + 1] + beta[t + 1])[None, :], 1)
    log_z = _logsumexp(alpha[-1] + crf.end, 0)
    return np.exp(alpha + beta - log_z)
