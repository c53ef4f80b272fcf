"""A linear-chain CRF over word emissions; batch-first, ``torch.bool`` masks; depends on torch only.

Masks must be left-aligned (every sequence's real positions come first) and position 0 must be real.
Optional hard constraints (e.g. IOB2: no ``O -> I-X``) are applied as ``-1e4`` transition scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from xtremedistil_ner.runtime.crf import CrfScores, constraint_scores


class CRF(nn.Module):
    """Linear-chain conditional random field.

    Args:
        num_tags: number of tags.
        forbidden_transitions: ``(from, to)`` tag pairs that are never allowed.
        forbidden_starts: tags that may not start a sequence.
    """

    transition_constraint: torch.Tensor
    start_constraint: torch.Tensor

    def __init__(
        self,
        num_tags: int,
        forbidden_transitions: Sequence[tuple[int, int]] = (),
        forbidden_starts: Sequence[int] = (),
    ) -> None:
        super().__init__()
        if num_tags <= 0:
            raise ValueError(f"invalid number of tags: {num_tags}")
        self.num_tags = num_tags
        self.start_transitions = nn.Parameter(torch.empty(num_tags))
        self.end_transitions = nn.Parameter(torch.empty(num_tags))
        self.transitions = nn.Parameter(torch.empty(num_tags, num_tags))
        constraints = constraint_scores(num_tags, forbidden_transitions, forbidden_starts)
        self.register_buffer("transition_constraint", torch.from_numpy(constraints.transitions), persistent=False)
        self.register_buffer("start_constraint", torch.from_numpy(constraints.start), persistent=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Uniform(-0.1, 0.1) initialisation, as in pytorch-crf."""
        for p in (self.start_transitions, self.end_transitions, self.transitions):
            nn.init.uniform_(p, -0.1, 0.1)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(num_tags={self.num_tags})"

    def _scores(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.start_transitions + self.start_constraint, self.transitions + self.transition_constraint

    def export_scores(self) -> CrfScores:
        """The effective (constrained) start, transition and end scores, for the NumPy decoder of the runtime."""
        start, trans = self._scores()
        return CrfScores(
            start.detach().cpu().numpy(), trans.detach().cpu().numpy(), self.end_transitions.detach().cpu().numpy()
        )

    def _validate(self, emissions: torch.Tensor, tags: torch.Tensor | None, mask: torch.Tensor) -> None:
        if emissions.dim() != 3 or emissions.size(2) != self.num_tags:
            raise ValueError(f"emissions must have shape (batch, seq, {self.num_tags}), got {tuple(emissions.shape)}")
        if mask.shape != emissions.shape[:2] or mask.dtype != torch.bool:
            raise ValueError(f"mask must be bool of shape {tuple(emissions.shape[:2])}, got {tuple(mask.shape)}")
        if tags is not None and tags.shape != emissions.shape[:2]:
            raise ValueError(f"tags must have shape {tuple(emissions.shape[:2])}, got {tuple(tags.shape)}")
        if mask.numel() and not bool(mask[:, 0].all()):
            raise ValueError("the first position of every sequence must be unmasked")

    def log_likelihood(
        self,
        emissions: torch.Tensor,
        tags: torch.Tensor,
        mask: torch.Tensor,
        reduction: Literal["none", "sum", "mean", "token_mean"] = "sum",
    ) -> torch.Tensor:
        """Log p(tags | emissions).

        Args:
            emissions: ``(batch, seq, num_tags)``.
            tags: ``(batch, seq)`` long (values at masked positions are ignored).
            mask: ``(batch, seq)`` bool.
            reduction: ``none`` (per sequence), ``sum``, ``mean`` (over sequences), ``token_mean`` (over words).

        Returns:
            ``(batch,)`` for ``none``, else a scalar.
        """
        self._validate(emissions, tags, mask)
        tags = tags.masked_fill(~mask, 0)
        llh = self._path_score(emissions, tags, mask) - self._log_partition(emissions, mask)
        if reduction == "none":
            return llh
        if reduction == "sum":
            return llh.sum()
        if reduction == "mean":
            return llh.mean()
        return llh.sum() / mask.sum().clamp(min=1)

    def _path_score(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        start, trans = self._scores()
        maskf = mask.to(emissions.dtype)
        # shape: (batch, seq)
        emit = emissions.gather(2, tags.unsqueeze(2)).squeeze(2) * maskf
        score = start[tags[:, 0]] + emit.sum(1)
        # shape: (batch, seq - 1)
        score = score + (trans[tags[:, :-1], tags[:, 1:]] * maskf[:, 1:]).sum(1)
        last = tags.gather(1, (mask.sum(1) - 1).unsqueeze(1)).squeeze(1)
        return score + self.end_transitions[last]

    def _log_partition(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        start, trans = self._scores()
        # shape: (batch, num_tags)
        alpha = start + emissions[:, 0]
        for t in range(1, emissions.size(1)):
            # shape: (batch, num_tags, num_tags) = alpha_i + trans_ij + emit_j
            nxt = torch.logsumexp(alpha.unsqueeze(2) + trans + emissions[:, t].unsqueeze(1), dim=1)
            alpha = torch.where(mask[:, t].unsqueeze(1), nxt, alpha)
        return torch.logsumexp(alpha + self.end_transitions, dim=1)

    def marginals(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Posterior tag marginals p(y_t = j | x) by forward-backward.

        Args:
            emissions: ``(batch, seq, num_tags)``.
            mask: ``(batch, seq)`` bool.

        Returns:
            ``(batch, seq, num_tags)`` probabilities; rows at masked positions are zero.
        """
        self._validate(emissions, None, mask)
        start, trans = self._scores()
        batch, seq, n = emissions.shape
        alphas = [start + emissions[:, 0]]
        for t in range(1, seq):
            nxt = torch.logsumexp(alphas[-1].unsqueeze(2) + trans + emissions[:, t].unsqueeze(1), dim=1)
            alphas.append(torch.where(mask[:, t].unsqueeze(1), nxt, alphas[-1]))
        lengths = mask.sum(1)
        betas = [emissions.new_zeros(batch, n)] * seq
        beta = self.end_transitions.expand(batch, n)
        for t in range(seq - 1, -1, -1):
            is_last = (lengths - 1 == t).unsqueeze(1)
            if t < seq - 1:
                # shape: (batch, num_tags) = logsumexp_j trans_ij + emit_{t+1,j} + beta_{t+1,j}
                step = torch.logsumexp(trans + (emissions[:, t + 1] + beta).unsqueeze(1), dim=2)
                beta = torch.where(mask[:, t + 1].unsqueeze(1), step, beta)
            beta = torch.where(is_last, self.end_transitions.expand(batch, n), beta)
            betas[t] = beta
        log_z = torch.logsumexp(alphas[-1] + self.end_transitions, dim=1)
        post = torch.stack(alphas, 1) + torch.stack(betas, 1) - log_z.view(batch, 1, 1)
        return post.exp() * mask.unsqueeze(2).to(emissions.dtype)

    @torch.no_grad()
    def decode(self, emissions: torch.Tensor, mask: torch.Tensor) -> list[list[int]]:
        """Viterbi: the best tag sequence of each sentence.

        Args:
            emissions: ``(batch, seq, num_tags)``.
            mask: ``(batch, seq)`` bool.

        Returns:
            One list of tag ids per sequence, as long as its unmasked prefix.
        """
        self._validate(emissions, None, mask)
        start, trans = self._scores()
        batch, seq, _ = emissions.shape
        score = start + emissions[:, 0]
        history = []
        for t in range(1, seq):
            # shape: (batch, num_tags, num_tags)
            total = score.unsqueeze(2) + trans + emissions[:, t].unsqueeze(1)
            best, idx = total.max(dim=1)
            history.append(idx)
            score = torch.where(mask[:, t].unsqueeze(1), best, score)
        score = score + self.end_transitions
        lengths = mask.sum(1).tolist()
        last = score.argmax(1).tolist()
        hist = torch.stack(history, 1).tolist() if history else [[] for _ in range(batch)]
        paths = []
        for b in range(batch):
            path = [last[b]]
            for t in range(lengths[b] - 2, -1, -1):
                path.append(hist[b][t][path[-1]])
            paths.append(path[::-1])
        return paths
