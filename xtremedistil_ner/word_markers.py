"""Word-start markers in scripts written without spaces.

Given words, a SentencePiece tokenizer (``is_split_into_words``) puts a space before each of them, so every word
starts with ``▁``. Where the ``▁`` does not join the word's first piece it stands alone (a *bare* marker). In
scripts written without spaces (Chinese, Japanese, Thai, ...) that happens before most words: the first 2,000 UNER
Chinese-GSDSIMP train sentences take 51.5 pieces each through XLM-R's tokenizer (no special tokens), 21.4 of them
bare markers; as running text, 28.8. Pretraining text of these scripts rarely has a ``▁`` between words, and
each one costs a position in every layer. :func:`join_unspaced` leaves them out (``teacher.join_unspaced``).
(Also reading ``▁X`` as ``X`` where the vocabulary has both was tried and did worse on UNER zh; docs/RESULTS.md.)
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

# (first, last) code points of scripts and signs written without spaces between words
UNSPACED_RANGES: tuple[tuple[int, int], ...] = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x3000, 0x303F),  # CJK symbols and punctuation (、。「」)
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK unified ideographs extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF00, 0xFFEF),  # halfwidth and fullwidth forms (，：ｶ)
    (0x20000, 0x3134F),  # CJK unified ideographs extensions B-G, compatibility supplement
)


def is_unspaced(word: str) -> bool:
    """True when ``word`` starts with a character of a script written without spaces (Han, kana, Thai, ...)."""
    if not word:
        return False
    point = ord(word[0])
    return any(first <= point <= last for first, last in UNSPACED_RANGES)


def join_unspaced(
    ids: Sequence[int],
    word_ids: Sequence[int | None],
    words: Sequence[str],
    bare: Collection[int],
) -> tuple[list[int], list[int | None]]:
    """A sentence's pieces as running text of an unspaced script reads: no word-start marker before such words.

    A word of an unspaced script loses a bare marker that precedes more of it; a marker joined to the word's
    first piece (``▁X``) stays. Other words are untouched.

    Args:
        ids: ``(pieces,)`` piece ids of one sentence, no special tokens.
        word_ids: ``(pieces,)`` the word of each piece (the tokenizer's ``word_ids()``).
        words: the sentence's words.
        bare: ids of bare markers (``▁``).

    Returns:
        ``(ids, word_ids)``: ``(pieces',)`` each, ``pieces' <= pieces``; every word keeps at least one piece.
    """
    keep_ids: list[int] = []
    keep_words: list[int | None] = []
    for pos, (piece, word) in enumerate(zip(ids, word_ids, strict=True)):
        # a bare marker only ever starts a word; it goes when more of an unspaced word follows it
        more = word is not None and pos + 1 < len(ids) and word_ids[pos + 1] == word
        if more and piece in bare and is_unspaced(words[word]):  # type: ignore[index]
            continue
        keep_ids.append(piece)
        keep_words.append(word)
    return keep_ids, keep_words
