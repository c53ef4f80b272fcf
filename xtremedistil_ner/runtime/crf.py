"""The student's CRF in NumPy, for runtimes without PyTorch (beside ONNX emissions): Viterbi and marginals.

Scores are the CRF's with its IOB2 constraints already added (:meth:`CRF.export_scores
<xtremedistil_ner.student.crf.CRF.export_scores>` writes them), so decoding here
equals :meth:`CRF.decode` and never emits ``O -> I-X``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import add

import numpy as np


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


FORBIDDEN = -1e4  # the score of a forbidden transition or start: never on a best path, finite for the forward sums


def constraint_scores(
    num_tags: int, forbidden_transitions: Sequence[tuple[int, int]] = (), forbidden_starts: Sequence[int] = ()
) -> CrfScores:
    """Scores that only forbid: :data:`FORBIDDEN` on the given ``(from, to)`` transitions and starts, 0 elsewhere."""
    transitions = np.zeros((num_tags, num_tags), np.float32)
    for frm, to in forbidden_transitions:
        transitions[frm, to] = FORBIDDEN
    start = np.zeros(num_tags, np.float32)
    start[list(forbidden_starts)] = FORBIDDEN
    return CrfScores(start, transitions, np.zeros(num_tags, np.float32))


def viterbi(emissions: np.ndarray, lengths: np.ndarray, crf: CrfScores) -> list[list[int]]:
    """Best tag path of each sentence, vectorised over the batch.

    Args:
        emissions: ``(batch, seq, num_tags)``; rows past a sentence's length are ignored.
        lengths: ``(batch,)`` real words per sentence (>= 1), words left-aligned.
        crf: the CRF's scores.

    Returns:
        One list of tag ids per sentence, as long as the sentence.
    """
    rows = _viterbi_paths(emissions, lengths, crf).tolist()
    return [row[:n] for row, n in zip(rows, lengths.tolist(), strict=True)]


def _viterbi_paths(emissions: np.ndarray, lengths: np.ndarray, crf: CrfScores) -> np.ndarray:
    """:func:`viterbi` as one ``(batch, seq)`` array (0 past each sentence's length)."""
    batch, seq, _ = emissions.shape
    ragged = bool((lengths != seq).any())
    score = crf.start + emissions[:, 0]
    history = []
    for t in range(1, seq):
        # shape: (batch, num_tags, num_tags) = score_i + trans_ij + emit_j
        total = score[:, :, None] + crf.transitions + emissions[:, t, None, :]
        best = total.argmax(1)
        history.append(best)
        step = total.max(1)
        score = np.where((t < lengths)[:, None], step, score) if ragged else step
    rows = np.arange(batch)
    current = (score + crf.end).argmax(1)
    paths = np.zeros((batch, seq), np.int64)
    for t in range(seq - 1, 0, -1):
        active = t <= lengths - 1
        paths[active, t] = current[active]
        current = np.where(active, history[t - 1][rows, current], current)
    paths[:, 0] = current
    return paths


def marginals(emissions: np.ndarray, lengths: np.ndarray, crf: CrfScores) -> np.ndarray:
    """Posterior tag marginals by scaled forward-backward, vectorised over the batch.

    Works in probability space, rescaling every step (the scales cancel when each position's ``alpha * beta``
    is normalised), so a step is a matrix product and a multiply instead of a log-sum-exp.

    Args:
        emissions: ``(batch, seq, num_tags)``.
        lengths: ``(batch,)`` real words per sentence (>= 1).
        crf: the CRF's scores.

    Returns:
        ``(batch, seq, num_tags)`` probabilities; rows past a sentence's length are zero.
    """
    emit = emissions.astype(np.float64)
    seq = emit.shape[1]
    mask = np.arange(seq)[None, :] < lengths[:, None]
    # shape: (batch, seq, num_tags); per-position constants cancel in the normalisation
    weights = np.exp(emit - emit.max(-1, keepdims=True))
    start, trans, end = _probability_space(crf)
    alpha = np.empty_like(weights)
    beta = np.empty_like(weights)
    a = start * weights[:, 0]
    alpha[:, 0] = a / a.sum(1, keepdims=True)
    for t in range(1, seq):
        a = (alpha[:, t - 1] @ trans) * weights[:, t]
        a /= a.sum(1, keepdims=True)
        alpha[:, t] = np.where(mask[:, t, None], a, alpha[:, t - 1])
    beta[:, seq - 1] = end
    for t in range(seq - 2, -1, -1):
        # shape: (batch, num_tags) = sum_j trans_ij * w_{t+1,j} * beta_{t+1,j}
        b = (weights[:, t + 1] * beta[:, t + 1]) @ trans.T
        b /= b.sum(1, keepdims=True)
        beta[:, t] = np.where(mask[:, t + 1, None], b, end)
    post = alpha * beta
    return post / post.sum(-1, keepdims=True) * mask[:, :, None]


def decode_with_scores(
    emissions: np.ndarray, lengths: np.ndarray, crf: CrfScores
) -> list[tuple[list[int], list[float]]]:
    """Viterbi paths and the posterior marginal of each chosen tag, per sentence.

    A lone sentence takes its own path: Viterbi in plain Python (with ~7 tags, NumPy's per-call overhead on tiny
    arrays costs more than the arithmetic; docs/RESULTS.md, "Measurements behind code choices") and marginals
    by log-depth matrix products.
    """
    if emissions.shape[0] == 1:
        n = int(lengths[0])
        rows = emissions[0, :n].astype(np.float64)
        path = _viterbi_one(rows.tolist(), crf)
        one = _marginals_one(rows, crf)
        return [(path, [one[t][tag] for t, tag in enumerate(path)])]
    paths = _viterbi_paths(emissions, lengths, crf)
    # shape: (batch, seq), the marginal of each chosen tag
    chosen = np.take_along_axis(marginals(emissions, lengths, crf), paths[:, :, None], 2)[:, :, 0]
    return [
        (path[:n], probs[:n]) for path, probs, n in zip(paths.tolist(), chosen.tolist(), lengths.tolist(), strict=True)
    ]


def _viterbi_one(emissions: list[list[float]], crf: CrfScores) -> list[int]:
    """:func:`viterbi` of one sentence, ``(n_words, num_tags)`` as lists."""
    tags = range(len(crf.start))
    into = crf.transitions.T.tolist()  # into[j][i] = score of i -> j
    score = list(map(add, crf.start.tolist(), emissions[0]))
    back = []
    for emit in emissions[1:]:
        pointers, new = [], []
        for j in tags:
            cands = list(map(add, score, into[j]))
            best = max(cands)
            pointers.append(cands.index(best))
            new.append(best + emit[j])
        back.append(pointers)
        score = new
    final = list(map(add, score, crf.end.tolist()))
    path = [final.index(max(final))]
    for pointers in reversed(back):
        path.append(pointers[path[-1]])
    return path[::-1]


def _probability_space(crf: CrfScores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``exp`` of the start ``(T,)``, transition ``(T, T)`` and end ``(T,)`` scores as float64.

    Each is shifted by its own max first; the shifts cancel when the marginals are normalised.
    """
    start, trans, end = (np.exp(x.astype(np.float64) - x.max()) for x in (crf.start, crf.transitions, crf.end))
    return start, trans, end


def _marginals_one(emissions: np.ndarray, crf: CrfScores) -> list[list[float]]:
    """:func:`marginals` of one sentence, ``(n_words, num_tags)`` float64 in, lists out.

    Log-depth instead of one step per word: ``alpha_t`` is ``alpha_0`` times the product of the step matrices
    ``M_1 .. M_t`` (``M_t = trans * w_t``), ``beta_t`` the product ``M_{t+1} .. M_{n-1}`` times ``end``; all
    prefix and suffix products come from ``log2(n)`` batched matrix products (Hillis-Steele), each rescaled
    (scales cancel in the normalisation). Equal to the step-by-step recursion of :func:`marginals` to rounding,
    and faster for one sentence (docs/RESULTS.md, "One bidirectional LSTM node per layer").
    """
    start, trans, end = _probability_space(crf)
    n = len(emissions)
    # shape: (n, num_tags), per-position constants cancel in the normalisation
    weights = np.exp(emissions - emissions.max(1, keepdims=True))
    # shape: (n - 1, num_tags, num_tags): M_t = trans * w_t (to), for t = 1 .. n - 1
    steps = trans[None] * weights[1:, None, :]
    prefix, suffix = steps.copy(), steps[::-1].copy()
    span = 1
    while span < n - 1:
        prefix[span:] = prefix[:-span] @ prefix[span:]
        suffix[span:] = suffix[span:] @ suffix[:-span]
        prefix /= prefix.sum((1, 2), keepdims=True)
        suffix /= suffix.sum((1, 2), keepdims=True)
        span *= 2
    first = start * weights[0]
    alpha = np.concatenate([first[None], first @ prefix])
    beta = np.concatenate([suffix[::-1] @ end, end[None]])
    post = alpha * beta
    return (post / post.sum(1, keepdims=True)).tolist()
