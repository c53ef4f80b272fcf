"""A raw SentencePiece unigram model (``*.model``) as a Hugging Face fast tokenizer.

The student may split words with a SentencePiece model that has no ``tokenizer.json`` (e.g. the LASER unigram
models). Rebuilding it from its pieces and scores gives a Rust tokenizer with ``word_ids()``; with identity
normalization (how those models were trained) it splits text exactly as ``sentencepiece`` does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xtremedistil_ner.errors import XdnerError

SPACE = "▁"


def is_spm_model(name: str) -> bool:
    """True for a path to a SentencePiece model file (``*.model``)."""
    return name.endswith(".model") and Path(name).is_file()


def fast_tokenizer_from_spm(path: str | Path) -> Any:
    """A ``PreTrainedTokenizerFast`` with the pieces, scores and unknown piece of a unigram ``.model`` file.

    Raises:
        XdnerError: the file is not a SentencePiece model, or not a unigram one.
    """
    import sentencepiece as spm
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    try:
        sp = spm.SentencePieceProcessor(model_file=str(path))
    except (OSError, RuntimeError) as exc:
        raise XdnerError(f"{path}: not a SentencePiece model ({exc})") from None
    vocab = [(sp.id_to_piece(i), sp.get_score(i)) for i in range(sp.get_piece_size())]
    if all(score == 0.0 for _, score in vocab):
        raise XdnerError(f"{path}: only unigram SentencePiece models are supported (all piece scores are 0)")
    unk = sp.unk_id()
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=unk, byte_fallback=False))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement=SPACE, prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement=SPACE, prepend_scheme="always")
    special = {
        "unk_token": sp.id_to_piece(unk),
        "bos_token": sp.id_to_piece(sp.bos_id()) if sp.bos_id() >= 0 else None,
        "eos_token": sp.id_to_piece(sp.eos_id()) if sp.eos_id() >= 0 else None,
        "pad_token": sp.id_to_piece(sp.pad_id()) if sp.pad_id() >= 0 else None,
    }
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, **{k: v for k, v in special.items() if v})
