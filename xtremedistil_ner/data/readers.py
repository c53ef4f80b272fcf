"""Readers for labeled NER files and unlabeled transfer text; every format quirk ends here.

Formats (``fmt``):
  * ``tsv``: one sentence per line, ``tok1 tok2 ...<TAB>tag1 tag2 ...`` (the ``../shared`` WikiANN files).
  * ``conll``: one token per line in columns (tab- or space-separated, any number of them), a blank line between
    sentences, ``-DOCSTART-`` lines skipped; the token is the first column and the tag the last column that holds
    tags (CoNLL-2002 ``token tag``, ``token POS tag``; CoNLL-2003 ``token POS chunk tag``).
  * ``iob2``: Universal NER (``*.iob2``): ``# sent_id = ...`` / ``# text = ...`` comment lines, then
    ``ID<TAB>token<TAB>tag<TAB>...``; the columns after the tag are ignored.
  * ``prefix``: ``conll`` with Rahimi/XtremeDistil ``lang:token`` prefixes (stripped once, only ``<lang>:``).
  * ``auto``: decided from the content of the first lines, not from the file name.
A Hugging Face dataset saved to disk (``<split>/`` of ``save_to_disk``, ``<split>.parquet``, ``<split>.jsonl``)
is read by :mod:`xtremedistil_ner.data.hf_disk`, whatever ``fmt`` says.
Files are read in ``encoding`` (UTF-8 by default; CoNLL-2002 as published is ``latin-1``). Errors are
:class:`DataError` naming file, line and problem; a column that does not hold tags is a format problem.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from xtremedistil_ner.data.documents import attach_context, is_document_start
from xtremedistil_ner.data.hf_disk import find_hf_split, is_hf_source, read_hf_rows
from xtremedistil_ner.data.records import Sentence
from xtremedistil_ner.data.split_names import published_split
from xtremedistil_ner.data.tags import TAG_PATTERN, bio_problem, repair_bio
from xtremedistil_ner.errors import DataError

SPLIT_EXTENSIONS = (".tsv", ".conll", ".txt", ".iob2", "")
FORMATS = ("auto", "tsv", "conll", "iob2", "prefix")
SAMPLE_ROWS = 200  # rows looked at to decide the format and which column holds the tags


def check_encoding(encoding: str) -> str:
    """The codec's canonical name.

    Raises:
        ValueError: Python knows no such encoding.
    """
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise ValueError(f"unknown encoding {encoding!r} (e.g. 'utf-8', 'latin-1', 'cp1252')") from None


def _lines(path: Path, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` with line endings (and a leading byte-order mark) stripped.

    Raises:
        DataError: missing file, or bytes that are not text in ``encoding`` (at their line).
    """
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise DataError(path, None, "file not found") from None
    with handle:
        for number, raw in enumerate(handle, 1):
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError as exc:
                utf8 = codecs.lookup(encoding).name == "utf-8"
                hint = " (set data.encoding, e.g. 'latin-1', or --encoding)" if utf8 else ""
                raise DataError(
                    path,
                    number,
                    f"not {'UTF-8' if utf8 else encoding} "
                    f"(byte {raw[exc.start]:#04x} at column {exc.start + 1}){hint}",
                ) from None
            if number == 1:
                text = text.removeprefix("\ufeff")
            yield number, text.rstrip("\r\n")


def _columns(line: str) -> list[str]:
    """A row's fields: tab-separated when the line has a tab, else whitespace-separated."""
    return [c.strip() for c in line.split("\t")] if "\t" in line else line.split()


def _is_comment(line: str) -> bool:
    """A ``# key = value`` / ``# text`` line of Universal NER or CoNLL-U (a token ``#`` has a tab after it)."""
    return line.startswith("#") and (len(line) == 1 or line[1] == " ") and "\t" not in line[:2]


def _is_id(value: str) -> bool:
    """A CoNLL-U style word id: ``3``, or a multiword range ``3-4`` / empty node ``3.1``."""
    return value.replace("-", "").replace(".", "").isdigit()


@dataclass(frozen=True)
class Layout:
    """Where token and tag sit in a column file (0-based) and whether the first column is a word id."""

    token: int
    tag: int
    has_id: bool = False


def _shown(cols: list[str]) -> str:
    return " | ".join(repr(c) for c in cols[:8]) + (" | ..." if len(cols) > 8 else "")


def _sample_rows(path: Path, encoding: str) -> tuple[list[tuple[int, list[str]]], bool, list[str]]:
    """Sample the start of a file.

    Returns:
        The first data rows (comments and ``-DOCSTART-`` skipped) with their line numbers, whether a blank
        line separated sentences among them, and the first non-blank lines as they are.
    """
    rows: list[tuple[int, list[str]]] = []
    first: list[str] = []
    blank_seen = False
    for number, line in _lines(path, encoding):
        if not line.strip():
            blank_seen = blank_seen or bool(rows)
            continue
        if len(first) < 50:
            first.append(line)
        if _is_comment(line) or line.startswith("-DOCSTART-"):
            continue
        rows.append((number, _columns(line)))
        if len(rows) >= SAMPLE_ROWS:
            break
    return rows, blank_seen, first


def column_layout(path: Path, fmt: str = "conll", encoding: str = "utf-8") -> Layout:
    """Decide which column holds the tags (the last one whose sampled values are all tags) and the token.

    Raises:
        DataError: no column holds tags in the sampled rows: the message names the columns seen.
    """
    rows, _, _ = _sample_rows(path, encoding)
    if not rows:
        raise DataError(path, None, "empty file (no sentences)")
    width = min(len(cols) for _, cols in rows)
    if fmt == "iob2":
        if width < 3:
            number, cols = min(rows, key=lambda r: len(r[1]))
            raise DataError(path, number, f"expected 'ID<TAB>token<TAB>tag...' (Universal NER), saw {_shown(cols)}")
        return Layout(token=1, tag=2, has_id=True)
    tag_cols = [k for k in range(1, width) if all(TAG_PATTERN.match(cols[k]) for _, cols in rows)]
    if not tag_cols:
        number, cols = rows[0]
        raise DataError(
            path,
            number,
            f"format problem: no column holds NER tags (O, B-X, I-X) in the first {len(rows)} rows; "
            f"columns seen: {_shown(cols)}",
        )
    tag = tag_cols[-1]
    has_id = tag >= 2 and all(_is_id(cols[0]) for _, cols in rows)
    return Layout(token=1 if has_id else 0, tag=tag, has_id=has_id)


def detect_format(path: Path, lang: str, encoding: str = "utf-8") -> str:
    """Guess ``tsv``, ``conll``, ``iob2`` or ``prefix`` from the content of the first lines."""
    rows, blank_seen, first = _sample_rows(path, encoding)
    if not rows:
        raise DataError(path, None, "empty file")
    token = rows[0][1][0]
    if token.startswith(f"{lang}:") and len(token) > len(lang) + 1:
        return "prefix"
    if any(_is_comment(line) for line in first) and all(len(c) >= 3 and _is_id(c[0]) for _, c in rows):
        return "iob2"
    if any("\t" in line and len(line.split("\t")[0].split()) > 1 for line in first if not _is_comment(line)):
        return "tsv"
    body = [line for line in first if not _is_comment(line)]
    if blank_seen or any(len(line.split("\t")) >= 3 or ("\t" not in line and len(line.split()) >= 2) for line in body):
        return "conll"
    return "tsv"


def _finish(path: Path, line: int | None, tokens: list[str], tags: list[str], lang: str, invalid_bio: str) -> Sentence:
    """Build a sentence from tags already checked to be ``O``/``B-X``/``I-X``.

    An ``I-X`` after ``O`` is repaired or an error, as ``invalid_bio`` says.
    """
    problem = bio_problem(tags)
    if problem:
        if invalid_bio == "error":
            raise DataError(
                path, line, f"invalid BIO: {problem} (data.invalid_bio = 'repair', the default, reads it as B-)"
            )
        if invalid_bio == "repair":  # "keep" (xdner data check) counts the violations itself
            tags = list(repair_bio(tags))
    return Sentence(tuple(tokens), tuple(tags), lang)


def _read_tsv(path: Path, lang: str, invalid_bio: str, encoding: str) -> Iterator[Sentence]:
    for number, line in _lines(path, encoding):
        if not line.strip():
            continue
        if "\t" not in line:
            raise DataError(path, number, "expected 'tokens<TAB>tags' (no tab found)")
        left, _, right = line.partition("\t")
        tokens, tags = left.split(), right.split()
        if len(tokens) != len(tags):
            raise DataError(path, number, f"{len(tokens)} tokens but {len(tags)} tags")
        if not tokens:
            raise DataError(path, number, "no tokens")
        bad = next((t for t in tags if not TAG_PATTERN.match(t)), None)
        if bad is not None:
            raise DataError(path, number, f"format problem: {bad!r} after the tab is not a tag (O, B-X or I-X)")
        yield _finish(path, number, tokens, tags, lang, invalid_bio)


def _read_columns(path: Path, lang: str, invalid_bio: str, fmt: str, encoding: str) -> Iterator[tuple[Sentence, int]]:
    """Sentences with their document index (0 before the first document mark; +1 at each mark)."""
    layout = column_layout(path, fmt, encoding)
    tokens: list[str] = []
    tags: list[str] = []
    start = 0
    doc = 0
    strip = f"{lang}:" if fmt == "prefix" else ""
    for number, line in _lines(path, encoding):
        if not line.strip():
            if tokens:
                yield _finish(path, start, tokens, tags, lang, invalid_bio), doc
                tokens, tags = [], []
            continue
        if line.startswith("-DOCSTART-") or (not tokens and _is_comment(line)):
            doc += is_document_start(line)
            continue
        cols = _columns(line)
        if layout.has_id and cols and not cols[0].isdigit() and _is_id(cols[0]):
            continue  # a CoNLL-U multiword range (3-4) or empty node (3.1): its words have their own lines
        if len(cols) <= max(layout.token, layout.tag) or not cols[layout.token]:
            raise DataError(
                path,
                number,
                f"format problem: expected the token in column {layout.token + 1} and the tag in column "
                f"{layout.tag + 1}, saw {_shown(cols)}",
            )
        tag = cols[layout.tag]
        if not TAG_PATTERN.match(tag):
            raise DataError(
                path,
                number,
                f"format problem: column {layout.tag + 1} should hold the tag (O, B-X or I-X) but holds {tag!r}; "
                f"columns seen: {_shown(cols)}",
            )
        token = cols[layout.token]
        if strip and token.startswith(strip) and len(token) > len(strip):
            token = token[len(strip) :]
        if not tokens:
            start = number
        tokens.append(token)
        tags.append(tag)
    if tokens:
        yield _finish(path, start, tokens, tags, lang, invalid_bio), doc


def read_labeled(
    path: str | Path, lang: str, fmt: str = "auto", invalid_bio: str = "repair", encoding: str = "utf-8"
) -> list[Sentence]:
    """Read a labeled split.

    Args:
        path: the file.
        lang: language code attached to every sentence.
        fmt: ``auto``, ``tsv``, ``conll``, ``iob2`` or ``prefix``.
        invalid_bio: ``repair`` (``I-X`` after ``O`` becomes ``B-X``), ``error``, or ``keep`` (tags as written,
            violations included: for counting them).
        encoding: the file's text encoding (``utf-8``, ``latin-1``, ...).

    Returns:
        The sentences in file order; in a column file that marks documents (``# newdoc``, ``-DOCSTART-``)
        each carries the words around it in its document (``Sentence.context``).

    Raises:
        DataError: missing or empty file, count mismatch, a column that holds no tags, bytes not in
            ``encoding``.
    """
    path = Path(path)
    if is_hf_source(path):  # a Hugging Face dataset on disk: its own columns and label names, no text format
        sentences = list(_read_hf(path, lang, invalid_bio))
        if not sentences:
            raise DataError(path, None, "empty dataset (no rows with words)")
        return sentences
    fmt = detect_format(path, lang, encoding) if fmt == "auto" else fmt
    if fmt == "tsv":
        sentences = list(_read_tsv(path, lang, invalid_bio, encoding))
    elif fmt in ("conll", "iob2", "prefix"):
        read = list(_read_columns(path, lang, invalid_bio, fmt, encoding))
        sentences = [s for s, _ in read]
        docs = [d for _, d in read]
        if docs and docs[-1] > 0:  # the file marks documents: each sentence gets its neighbours' words
            sentences = attach_context(sentences, docs)
    else:
        raise DataError(path, None, f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    if not sentences:
        raise DataError(path, None, "empty file (no sentences)")
    return sentences


def read_transfer_text(path: str | Path, lang: str, encoding: str = "utf-8") -> list[Sentence]:
    """Read unlabeled text: one sentence per line, words split on whitespace; blank lines are skipped.

    Raises:
        DataError: missing file, bytes not in ``encoding``, or no sentences at all.
    """
    path = Path(path)
    sentences = [Sentence(tuple(line.split()), None, lang) for _, line in _lines(path, encoding) if line.strip()]
    if not sentences:
        raise DataError(path, None, "empty transfer file (no sentences)")
    return sentences


def find_split(data_dir: str | Path, lang: str, split: str) -> Path | None:
    """The file (or saved dataset) of ``split`` under ``DIR/<lang>/``, or ``None`` when there is none.

    First ``<split>.<ext>`` for the first extension that exists, else a saved Hugging Face dataset (``<split>/``
    from ``save_to_disk``, ``<split>.parquet`` or ``<split>.jsonl``; dev may be named ``validation``), else the one
    file named as published (``en_ewt-ud-train.iob2``, ``ned.testa``: :mod:`~.split_names`).

    Raises:
        DataError: two files of the folder could be the split.
    """
    base = Path(data_dir) / lang
    for ext in SPLIT_EXTENSIONS:
        candidate = base / f"{split}{ext}"
        if candidate.is_file():
            return candidate
    return find_hf_split(base, split) or published_split(base, split)


def _read_hf(path: Path, lang: str, invalid_bio: str) -> Iterator[Sentence]:
    for number, tokens, tags in read_hf_rows(path):
        bad = next((t for t in tags if not TAG_PATTERN.match(t)), None)
        if bad is not None:
            raise DataError(path, None, f"row {number}: format problem: {bad!r} is not a tag (O, B-X or I-X)")
        try:
            yield _finish(path, None, tokens, tags, lang, invalid_bio)
        except DataError as exc:
            raise DataError(path, None, f"row {number}: {exc.problem}") from None


def read_hf_wikiann(name: str, lang: str, split: str) -> list[Sentence]:  # pragma: no cover - needs the hub
    """Load ``datasets.load_dataset(name, lang)[split]`` (e.g. ``wikiann``) for users who are online."""
    from datasets import load_dataset

    hf_split = {"dev": "validation"}.get(split, split)
    dataset = load_dataset(name, lang, split=hf_split)
    names = dataset.features["ner_tags"].feature.names
    return [
        Sentence(tuple(row["tokens"]), tuple(names[i] for i in row["ner_tags"]), lang)
        for row in dataset
        if row["tokens"]
    ]
