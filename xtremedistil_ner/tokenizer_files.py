"""Hugging Face fast tokenizers from a directory, a hub name or a SentencePiece ``*.model`` file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xtremedistil_ner.errors import XdnerError


def check_local(name: str, what: str) -> None:
    """Check that a name that reads as a local path (``./x``, ``../x``, ``/x``) exists.

    Said in one line, instead of the hub's complaint about repository ids.

    Raises:
        XdnerError: the path does not exist.
    """
    if name.startswith((".", "/", "~")) and not Path(name).expanduser().exists():
        raise XdnerError(
            f"{what} {name!r} not found (relative paths are read from the working directory, here "
            f"{Path(name).expanduser().resolve()}); set teacher.model / teacher.config / teacher.tokenizer "
            "with --set SECTION.KEY=VALUE, e.g. --set teacher.config=/path/to/dir"
        )


def load_tokenizer(name: str, trust_remote_code: bool = False) -> Any:
    """A fast tokenizer from a directory, a hub name or a SentencePiece unigram ``*.model`` file."""
    from transformers import AutoTokenizer

    from xtremedistil_ner.spm import fast_tokenizer_from_spm, is_spm_model

    if is_spm_model(name):
        return fast_tokenizer_from_spm(name)
    check_local(name, "tokenizer")
    try:
        return AutoTokenizer.from_pretrained(name, use_fast=True, trust_remote_code=trust_remote_code)
    except OSError as exc:
        raise XdnerError(f"cannot load tokenizer {name!r}: {exc}") from None
