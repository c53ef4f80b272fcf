"""Readers for labeled NER files and unlabeled transfer text; every format quirk ends here.

Formats (``fmt``):
  * ``tsv``: one sentence per line, ``tok1 tok2 ...<TAB>tag1 tag2 ...`` (the ``../shared`` WikiANN files).
  * ``conll``: one token per line, token first and tag last, a blank line between sentences.
  * ``prefix``: ``conll`` with Rahimi/XtremeDistil ``lang:token`` prefixes (stripped once, only ``<lang>:``).
  * ``auto``: decided from the first lines of the file.
Errors are :class:`DataError` naming file, line and problem.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from xtremedistil_ner.data.records import Sentence
from xtremedistil_ner.data.tags import bio_problem, repair_bio
from xtremedistil_ner.errors import DataError

SPLIT_EXTENSIONS = (".tsv", ".conll", ".txt", ".iob2", "")


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` with line endings stripped; non-UTF-8 bytes are an error at their line."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise DataError(path, None, "file not found") from None
    with handle:
        for number, raw in enumerate(handle, 1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(
                    path, number, f"not UTF-8 (byte {raw[exc.start]:#04x} at column {exc.start + 1})"
                ) from None
            yield number, text.rstrip("\r\n")


def detect_format(path: Path, lang: str) -> str:
    """Guess ``tsv``, ``conll`` or ``prefix`` from the first 50 lines."""
    first: list[str] = []
    blank_seen = False
    for _, line in _lines(path):
        if not line.strip():
            blank_seen = bool(first)
        else:
            if blank_seen or len(first) >= 50:
                break
            first.append(line)
    if not first:
        raise DataError(path, None, "empty file")
    token = first[0].split("\t")[0].split()[0]
    if token.startswith(f"{lang}:") and len(token) > len(lang) + 1:
        return "prefix"
    if any("\t" in line and len(line.split("\t")[0].split()) > 1 for line in first):
        return "tsv"
    if blank_seen or any("\t" not in line and len(line.split()) >= 2 for line in first):
        return "conll"
    return "tsv"


def _finish(path: Path, line: int, tokens: list[str], tags: list[str], lang: str, invalid_bio: str) -> Sentence:
    problem = bio_problem(tags)
    if problem:
        if invalid_bio == "error" or "is not O, B-X or I-X" in problem:
            raise DataError(path, line, f"invalid BIO: {problem} (set data.invalid_bio = 'repair' to fix it)")
        tags = list(repair_bio(tags))
    return Sentence(tuple(tokens), tuple(tags), lang)


def _read_tsv(path: Path, lang: str, invalid_bio: str) -> Iterator[Sentence]:
    for number, line in _lines(path):
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
        yield _finish(path, number, tokens, tags, lang, invalid_bio)


def _read_columns(path: Path, lang: str, invalid_bio: str, prefix: bool) -> Iterator[Sentence]:
    tokens: list[str] = []
    tags: list[str] = []
    start = 0
    strip = f"{lang}:"
    for number, line in _lines(path):
        if not line.strip():
            if tokens:
                yield _finish(path, start, tokens, tags, lang, invalid_bio)
                tokens, tags = [], []
            continue
        if line.startswith("-DOCSTART-"):
            continue
        cols = line.split("\t") if "\t" in line else line.split()
        cols = [c.strip() for c in cols]
        if len(cols) < 2 or not cols[0] or not cols[-1]:
            raise DataError(path, number, "expected 'token<TAB>...<TAB>tag' with at least two columns")
        token = cols[0]
        if prefix and token.startswith(strip) and len(token) > len(strip):
            token = token[len(strip) :]
        if not tokens:
            start = number
        tokens.append(token)
        tags.append(cols[-1])
    if tokens:
        yield _finish(path, start, tokens, tags, lang, invalid_bio)


def read_labeled(path: str | Path, lang: str, fmt: str = "auto", invalid_bio: str = "repair") -> list[Sentence]:
    """Read a labeled split.

    Args:
        path: the file.
        lang: language code attached to every sentence.
        fmt: ``auto``, ``tsv``, ``conll`` or ``prefix``.
        invalid_bio: ``repair`` (``I-X`` after ``O`` becomes ``B-X``) or ``error``.

    Returns:
        The sentences in file order.

    Raises:
        DataError: missing or empty file, count mismatch, bad tag, non-UTF-8 bytes.
    """
    path = Path(path)
    fmt = detect_format(path, lang) if fmt == "auto" else fmt
    if fmt == "tsv":
        sentences = list(_read_tsv(path, lang, invalid_bio))
    elif fmt in ("conll", "prefix"):
        sentences = list(_read_columns(path, lang, invalid_bio, prefix=fmt == "prefix"))
    else:
        raise DataError(path, None, f"unknown format {fmt!r}")
    if not sentences:
        raise DataError(path, None, "empty file (no sentences)")
    return sentences


def read_transfer_text(path: str | Path, lang: str) -> list[Sentence]:
    """Read unlabeled text: one sentence per line, words split on whitespace; blank lines are skipped.

    Raises:
        DataError: missing file, non-UTF-8 bytes, or no sentences at all.
    """
    path = Path(path)
    sentences = [Sentence(tuple(line.split()), None, lang) for _, line in _lines(path) if line.strip()]
    if not sentences:
        raise DataError(path, None, "empty transfer file (no sentences)")
    return sentences


def find_split(data_dir: str | Path, lang: str, split: str) -> Path | None:
    """``DIR/<lang>/<split>.<ext>`` for the first extension that exists, else ``None``."""
    base = Path(data_dir) / lang
    for ext in SPLIT_EXTENSIONS:
        candidate = base / f"{split}{ext}"
        if candidate.is_file():
            return candidate
    return None


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
