"""Shared fixtures: offline by construction; real assets are read in place from ../shared."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
DATA = Path(__file__).resolve().parent / "data"
MBERT = SHARED / "assets" / "tokenizers" / "bert-base-multilingual-cased"
XLMR = SHARED / "assets" / "tokenizers" / "xlm-roberta-base"


def need_shared() -> None:
    """Skip (with the reason) when ../shared is not beside the repository."""
    if not MBERT.is_dir():
        pytest.skip(f"../shared assets not found at {SHARED} (see README: tests read real assets in place)")


@pytest.fixture(scope="session")
def mbert_tokenizer():
    need_shared()
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(MBERT))


@pytest.fixture(scope="session")
def xlmr_tokenizer():
    need_shared()
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(XLMR))


@pytest.fixture()
def tiny_data() -> Path:
    """tests/data/tiny: 3 languages x 5 sentences in the shared TSV format (hand-written)."""
    return DATA / "tiny"


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> Path:
    """One run of recipes/smoke.toml (tiny random teacher, 3 languages): its directory holds a real student."""
    need_shared()
    from xtremedistil_ner.config import load_recipe
    from xtremedistil_ner.pipeline import run_distill

    out = tmp_path_factory.mktemp("smoke")
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        run_distill(load_recipe(ROOT / "recipes" / "smoke.toml"), out)
    finally:
        os.chdir(cwd)
    return out
