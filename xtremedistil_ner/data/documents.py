"""Document context: each sentence of a file that marks documents gets the words around it.

Universal NER / CoNLL-U files open a document with ``# newdoc id = ...``, CoNLL files with ``-DOCSTART-``. A
sentence's neighbours in its document are text the annotators read it in; a teacher that sees them (FLERT,
Schweter & Akbik 2020: the previous and next 64 pieces) can tell a person from a company named in the sentence
before. The student never reads context: it tags sentences, as ``xdner predict`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from xtremedistil_ner.data.records import Sentence

CONTEXT_WORDS = 64  # words kept on each side: more than any teacher's piece budget takes


def is_document_start(line: str) -> bool:
    """``-DOCSTART-`` (CoNLL) or a ``# newdoc`` comment (Universal NER, CoNLL-U)."""
    return line.startswith("-DOCSTART-") or line.startswith("# newdoc")


def attach_context(sentences: Sequence[Sentence], docs: Sequence[int], words: int = CONTEXT_WORDS) -> list[Sentence]:
    """The sentences with ``context`` set: up to ``words`` words before and after each one in its document.

    Args:
        sentences: in file order.
        docs: the document index of each sentence (consecutive sentences with the same index share one).
        words: words kept on each side, nearest first.
    """
    out = []
    for i, sentence in enumerate(sentences):
        before: list[str] = []
        j = i - 1
        while j >= 0 and docs[j] == docs[i] and len(before) < words:
            before[:0] = sentences[j].tokens
            j -= 1
        after: list[str] = []
        j = i + 1
        while j < len(sentences) and docs[j] == docs[i] and len(after) < words:
            after.extend(sentences[j].tokens)
            j += 1
        out.append(replace(sentence, context=(tuple(before[-words:]), tuple(after[:words]))))
    return out


def context_note(sentences: Sequence[Sentence], pieces: int) -> str:
    """What a teacher with ``teacher.context = pieces`` will read around ``sentences`` (its fine-tuning set)."""
    have = sum(1 for s in sentences if s.context and (s.context[0] or s.context[1]))
    if not have:
        return (
            f"teacher.context = {pieces}: none of the {len(sentences):,} fine-tuning sentences has document "
            "context (the data marks no documents: # newdoc or -DOCSTART-); the teacher reads sentences alone"
        )
    return (
        f"teacher: reads up to {pieces} pieces of document context a side (teacher.context) for {have:,} of "
        f"{len(sentences):,} fine-tuning sentences"
    )
