"""Plain records that flow between the readers, the teacher and the student."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Sentence:
    """One sentence: its words, optional BIO tags (``None`` for unlabeled transfer data) and language code.

    ``context``: the words just before and just after it in its document (``data/documents.py``), read from
    files that mark documents (``# newdoc``, ``-DOCSTART-``); ``None`` where there is no document (WikiANN's
    independent sentences, raw text, made-up sentences). Only a teacher with ``teacher.context`` reads it.
    """

    tokens: tuple[str, ...]
    tags: tuple[str, ...] | None
    lang: str
    context: tuple[tuple[str, ...], tuple[str, ...]] | None = None

    @property
    def has_entity(self) -> bool:
        """Some tag is not ``O`` (``False`` for unlabeled sentences)."""
        return any(t != "O" for t in self.tags or ())

    def unlabeled(self) -> Sentence:
        """The same sentence with its tags dropped (a labeled split used as transfer data)."""
        return Sentence(self.tokens, None, self.lang, self.context)


@dataclass(frozen=True)
class TeacherTargets:
    """What the student learns from for one sentence, one row per word.

    Attributes:
        logits: ``(n_words, num_tags)`` float teacher logits pooled to words.
        hidden: ``(n_words, teacher_hidden)`` float16 states of the chosen teacher layer.
        tags: ``(n_words,)`` int teacher hard tags (argmax of ``logits``).
    """

    logits: np.ndarray
    hidden: np.ndarray
    tags: np.ndarray
