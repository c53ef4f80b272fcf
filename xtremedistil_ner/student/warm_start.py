"""Start a student from a trained one (``student.init``): e.g. the multilingual student of the main job.

A trained student's BiLSTM has learned what an entity looks like in its pieces' embedding space; a student of one
language's folder can start from it instead of from random layers. The two differ in vocabulary (each keeps the
pieces of its own training text), maybe in tag set and in the word-shape input; they must share the piece
tokenizer, the embedding size, the BiLSTM's width and depth. What carries over:

  * embedding rows of the pieces both vocabularies hold, as trained; the other rows of the new vocabulary are
    their teacher vectors mapped into the trained student's embedding space by the least-squares affine map
    fitted on the shared pieces (the trained rows no longer lie on the SVD basis they started from, so a fresh
    SVD would put them in another space than the one the BiLSTM reads);
  * every BiLSTM layer; in the first, the input columns of the pieces' embedding (columns of word shapes the
    trained student lacks keep their fresh initialisation, and the other way round they are dropped);
  * emission rows and CRF transitions of the tags both tag sets name (``B-PER`` to ``B-PER``), the rest fresh.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from xtremedistil_ner.checkpoint import LoadedStudent
from xtremedistil_ner.data.tags import TagVocab
from xtremedistil_ner.errors import XdnerError
from xtremedistil_ner.student.model import StudentTagger
from xtremedistil_ner.student.vocab import StudentVocab


@dataclass(frozen=True)
class WarmStart:
    """What :func:`warm_start` carried over (printed by the run)."""

    shared_pieces: int
    mapped_pieces: int
    shared_tags: int
    layers: int

    def note(self, source: str) -> str:
        """One line for the run's output."""
        return (
            f"student: starts from {source}: {self.layers} BiLSTM layer(s), {self.shared_tags} tag(s) by name, "
            f"{self.shared_pieces:,} embedding rows as trained, {self.mapped_pieces:,} mapped from teacher vectors"
        )


def check_compatible(student: StudentTagger, init: StudentTagger, source: str) -> None:
    """Raise :class:`XdnerError` unless ``init`` has ``student``'s embedding size, BiLSTM width and depth."""
    a, b = student.config, init.config
    for name in ("embedding_dim", "hidden_size", "num_layers"):
        if getattr(a, name) != getattr(b, name):
            raise XdnerError(
                f"student.init {source}: its {name} is {getattr(b, name)}, the recipe's {getattr(a, name)}; "
                f"set student.{name} = {getattr(b, name)} to start from it"
            )


def _map_rows(vectors: torch.Tensor, fit: np.ndarray, target: torch.Tensor) -> torch.Tensor:
    """Every row of ``vectors`` ``(rows, H)`` mapped to ``(rows, E)``.

    The map is the least-squares affine fit from ``vectors[fit]`` to ``target`` ``(fit.sum(), E)``.
    """
    design = torch.cat([vectors, torch.ones(len(vectors), 1)], 1).double()
    solution = torch.linalg.lstsq(design[torch.from_numpy(fit)], target.double(), driver="gelsd").solution
    return (design @ solution).float()


def warm_start(
    student: StudentTagger,
    vocab: StudentVocab,
    tags: TagVocab,
    init: LoadedStudent,
    vectors: torch.Tensor,
    have: np.ndarray,
    source: str,
) -> WarmStart:
    """Copy what ``init`` has learned into ``student`` (in place; module docstring).

    Args:
        student: the new student, its embeddings already SVD-initialised.
        vocab: its pieces.
        tags: its tag set.
        init: the trained student (:func:`~xtremedistil_ner.checkpoint.load_student`).
        vectors: ``(len(vocab), teacher_hidden)`` teacher vector of each new piece.
        have: ``(len(vocab),)`` bool, the rows of ``vectors`` that hold one.
        source: where ``init`` came from, for messages.

    Raises:
        XdnerError: the two students cannot share weights (sizes, or too few shared pieces to map the rest).
    """
    check_compatible(student, init.model, source)
    index = {piece: i for i, piece in enumerate(init.vocab.pieces)}
    rows = np.array([index.get(piece, -1) for piece in vocab.pieces], np.int64)
    rows[0] = 0  # <unk> to <unk>
    shared = rows >= 0
    anchors, needed = int((shared & have).sum()), vectors.size(1) + 1  # the affine fit's rows and unknowns
    if anchors < needed:
        raise XdnerError(
            f"student.init {source}: only {anchors:,} of its pieces are in this run's vocabulary with a teacher "
            f"vector, too few to map the other rows into its space (at least {needed:,} needed); "
            "start from a student trained on text of this language or script"
        )
    trained = init.model.embedding.weight.detach()
    with torch.no_grad():
        weight = student.embedding.weight
        fit = shared & have
        mapped = ~shared & have
        if mapped.any():
            weight[torch.from_numpy(mapped)] = _map_rows(vectors, fit, trained[torch.from_numpy(rows[fit])])[
                torch.from_numpy(mapped)
            ]
        weight[torch.from_numpy(shared)] = trained[torch.from_numpy(rows[shared])]
        embed = student.config.embedding_dim
        for layer, old in zip(student.lstm, init.model.lstm, strict=True):
            for name, value in old.named_parameters():
                target = getattr(layer, name)
                if target.shape == value.shape:
                    target.copy_(value)
                else:  # the first layer's input: the pieces' columns first, then word shapes
                    target[:, :embed] = value[:, :embed]
        pairs = [(tags.index[t], init.tags.index[t]) for t in tags.tags if t in init.tags.index]
        new, old_ids = (torch.tensor(list(side)) for side in zip(*pairs, strict=True))
        student.head.emissions.weight[new] = init.model.head.emissions.weight[old_ids]
        student.head.emissions.bias[new] = init.model.head.emissions.bias[old_ids]
        old_crf = dict(init.model.head.crf.named_parameters())
        for name, value in student.head.crf.named_parameters():
            old_value = old_crf[name]
            if value.dim() == 2:
                value[new.unsqueeze(1), new.unsqueeze(0)] = old_value[old_ids.unsqueeze(1), old_ids.unsqueeze(0)]
            else:
                value[new] = old_value[old_ids]
    return WarmStart(int(shared.sum()) - 1, int(mapped.sum()), len(pairs), len(student.lstm))
