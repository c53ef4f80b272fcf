"""Hugging Face datasets on disk as labeled splits: ``save_to_disk`` folders, parquet and JSON lines files.

Where a split is found under ``DIR/<lang>/`` (:func:`find_hf_split`):
  * ``<split>/`` holding a saved ``Dataset`` (``state.json``): what ``DatasetDict.save_to_disk(DIR/<lang>)``
    writes, one folder per split; the dev split may be named ``validation`` (the Hub's name);
  * ``<split>.parquet`` (``Dataset.to_parquet`` keeps the label names in the file's schema);
  * ``<split>.jsonl`` / ``<split>.json`` (JSON lines).
Columns: the words in ``tokens`` (or ``words``), the tags in ``ner_tags`` (or ``tags``, ``labels``). Tags are
strings (``B-PER``), or integers named by the column's ``ClassLabel`` names in the dataset's features; integers
without names cannot be read (which number is which tag is unknown) and are an error that says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xtremedistil_ner.errors import DataError

TOKEN_COLUMNS = ("tokens", "words")
TAG_COLUMNS = ("ner_tags", "tags", "labels")
FILE_EXTENSIONS = (".parquet", ".jsonl", ".json")
_SPLIT_NAMES = {"dev": ("dev", "validation", "valid"), "train": ("train",), "test": ("test",)}


def find_hf_split(base: Path, split: str) -> Path | None:
    """The saved-dataset folder or parquet/JSON lines file of ``split`` under the language folder ``base``."""
    for name in _SPLIT_NAMES.get(split, (split,)):
        folder = base / name
        if (folder / "state.json").is_file():
            return folder
        for ext in FILE_EXTENSIONS:
            if (base / f"{name}{ext}").is_file():
                return base / f"{name}{ext}"
    return None


def is_hf_source(path: Path) -> bool:
    """Whether ``path`` is read by :func:`read_hf_rows` (a saved dataset folder, parquet or JSON lines)."""
    return path.is_dir() or path.suffix in FILE_EXTENSIONS


def _load(path: Path) -> Any:
    import datasets

    datasets.disable_progress_bars()  # ours, not theirs
    try:
        if path.is_dir():
            loaded = datasets.load_from_disk(str(path))
        elif path.suffix == ".parquet":
            loaded = datasets.Dataset.from_parquet(str(path))
        else:
            loaded = datasets.Dataset.from_json(str(path))
    except Exception as exc:  # datasets raises many kinds for unreadable files; all mean the same to a user
        raise DataError(path, None, f"not a readable Hugging Face dataset ({type(exc).__name__}: {exc})") from None
    if isinstance(loaded, datasets.DatasetDict):
        raise DataError(path, None, "a DatasetDict: point at the language folder, one split per sub-folder")
    return loaded


def _column(dataset: Any, path: Path, names: tuple[str, ...], what: str) -> str:
    found = next((n for n in names if n in dataset.column_names), None)
    if found is None:
        raise DataError(
            path, None, f"no {what} column: expected one of {', '.join(names)}; has {', '.join(dataset.column_names)}"
        )
    return found


def _label_names(dataset: Any, column: str) -> list[str] | None:
    """The ``ClassLabel`` names of a sequence column's items, if the features carry them."""
    feature = dataset.features[column]
    inner = getattr(feature, "feature", None)
    if inner is None and isinstance(feature, list) and feature:  # datasets >= 4 may keep a plain list
        inner = feature[0]
    return list(getattr(inner, "names", None) or []) or None


def read_hf_rows(path: Path) -> list[tuple[int, list[str], list[str]]]:
    """``(row number from 1, words, tags)`` of every non-empty row of a saved split, tags as strings.

    Raises:
        DataError: unreadable, a missing column, integer tags without label names, or a row whose words and
            tags differ in length.
    """
    dataset = _load(path)
    tokens_col = _column(dataset, path, TOKEN_COLUMNS, "words")
    tags_col = _column(dataset, path, TAG_COLUMNS, "tags")
    names = _label_names(dataset, tags_col)
    rows = []
    for number, row in enumerate(dataset, 1):
        words, raw = [str(w) for w in row[tokens_col]], list(row[tags_col])
        if not words:
            continue
        if raw and not isinstance(raw[0], str):
            if names is None:
                raise DataError(
                    path,
                    None,
                    f"row {number}: {tags_col} holds numbers but the dataset's features name no labels "
                    f"(save it with a ClassLabel feature, or store the tags as strings such as 'B-PER')",
                )
            try:
                raw = [names[int(i)] for i in raw]
            except IndexError:
                raise DataError(path, None, f"row {number}: tag id out of range of {len(names)} label names") from None
        if len(words) != len(raw):
            raise DataError(path, None, f"row {number}: {len(words)} words but {len(raw)} tags")
        rows.append((number, words, [str(t) for t in raw]))
    return rows
