"""Save/load the student: ``config.json``, ``tags.json``, ``vocab.json``, tokenizer files, ``model.safetensors``.

A student directory loads with no recipe (flair's pattern); weights go through safetensors only.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.torch import load_file, save_file

from xtremedistil_ner.atomic_files import atomic_write, write_json
from xtremedistil_ner.config import StudentConfig
from xtremedistil_ner.data.tags import TagVocab
from xtremedistil_ner.errors import XdnerError
from xtremedistil_ner.student.model import StudentTagger
from xtremedistil_ner.student.vocab import StudentVocab
from xtremedistil_ner.tokenizer_files import load_tokenizer

CHECKPOINT_VERSION = 1


@dataclass
class LoadedStudent:
    """A student ready to tag: the model, its tag set, piece vocabulary, tokenizer and id lookup."""

    model: StudentTagger
    tags: TagVocab
    vocab: StudentVocab
    tokenizer: Any
    lookup: np.ndarray


def save_student(out: Path, model: StudentTagger, tags: TagVocab, vocab: StudentVocab, tokenizer: Any) -> None:
    """Write a self-describing student directory."""
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic_write(out / "model.safetensors", lambda tmp: save_file(state, str(tmp)))
    shape = {"vocab_size": model.vocab_size, "num_tags": model.num_tags}
    write_json(out / "config.json", {"xdner_version": CHECKPOINT_VERSION, **shape, **asdict(model.config)})
    atomic_write(out / "tags.json", lambda tmp: tags.save(tmp))
    atomic_write(out / "vocab.json", lambda tmp: vocab.save(tmp))
    tokenizer.save_pretrained(out / "tokenizer")


def require_student_dir(path: Path) -> None:
    """Raise :class:`XdnerError` unless ``path`` holds the files :func:`save_student` writes."""
    for name in ("config.json", "tags.json", "vocab.json", "model.safetensors"):
        if not (path / name).is_file():
            raise XdnerError(f"{path}: not a student directory ({name} missing)")


def load_student(path: Path) -> LoadedStudent:
    """Load what :func:`save_student` wrote.

    Raises:
        XdnerError: missing files or a checkpoint from an incompatible version.
    """
    require_student_dir(path)
    raw = json.loads((path / "config.json").read_text(encoding="utf-8"))
    version = raw.pop("xdner_version", None)
    if version != CHECKPOINT_VERSION:
        raise XdnerError(f"{path}: checkpoint version {version} is not supported (expected {CHECKPOINT_VERSION})")
    tags = TagVocab.load(path / "tags.json")
    known = {f.name for f in fields(StudentConfig)}
    config = StudentConfig(**{k: v for k, v in raw.items() if k in known})  # the recipe's [student] section
    model = StudentTagger(config, raw["vocab_size"], raw["num_tags"], tags)
    model.load_state_dict(load_file(str(path / "model.safetensors")))
    model.eval()
    vocab = StudentVocab.load(path / "vocab.json")
    tokenizer = load_tokenizer(str(path / "tokenizer"))
    return LoadedStudent(model, tags, vocab, tokenizer, vocab.lookup(tokenizer))
