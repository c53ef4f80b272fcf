"""Rows of a tensor spread over safetensors shards, read on demand: the transfer cache never sits in RAM.

A safetensors file is an 8-byte little-endian header size, a JSON header (per tensor: ``dtype``, ``shape``,
``data_offsets`` relative to the end of the header) and the raw little-endian bytes. :class:`ShardRows`
parses only the headers and serves ``rows[index_array]`` with positioned reads (``os.pread``) of the runs
of consecutive rows it is asked for. Nothing is memory-mapped, so resident memory holds only the rows of
the current batch, however large the cache (pages the kernel caches are not the process's memory).
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from xtremedistil_ner.errors import XdnerError

DTYPES = {
    "F16": np.float16,
    "F32": np.float32,
    "F64": np.float64,
    "I64": np.int64,
    "I32": np.int32,
    "I16": np.int16,
    "I8": np.int8,
    "U8": np.uint8,
    "BOOL": np.bool_,
}
MAX_OPEN_FILES = 64


def read_header(path: Path) -> tuple[dict, int]:
    """The JSON header of a safetensors file and the byte offset where its data starts.

    Raises:
        XdnerError: not a safetensors file (names the path).
    """
    with path.open("rb") as handle:
        raw = handle.read(8)
        if len(raw) != 8:
            raise XdnerError(f"{path}: truncated safetensors file")
        (size,) = struct.unpack("<Q", raw)
        if size > 100 * 2**20:
            raise XdnerError(f"{path}: not a safetensors file (header of {size} bytes)")
        try:
            header = json.loads(handle.read(size))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise XdnerError(f"{path}: not a safetensors file (unreadable header)") from None
    header.pop("__metadata__", None)
    return header, 8 + size


class ShardRows:
    """One tensor (e.g. ``hidden``) stored as consecutive row blocks in several safetensors files.

    Args:
        paths: the shards in row order; each holds ``key`` with shape ``(rows_k, *row_shape)``.
        key: the tensor's name in every shard.

    Indexing with an integer array returns a new ``(len(index), *row_shape)`` array; ``shape``, ``dtype`` and
    ``len()`` behave like the concatenated array's.
    """

    def __init__(self, paths: Sequence[Path], key: str) -> None:
        self.paths = list(paths)
        self.key = key
        starts, bounds = [], [0]
        row_shape: tuple[int, ...] | None = None
        dtype = None
        for path in self.paths:
            header, data_start = read_header(path)
            if key not in header:
                raise XdnerError(f"{path}: no tensor {key!r}")
            entry = header[key]
            shape = tuple(int(d) for d in entry["shape"])
            this = DTYPES.get(entry["dtype"])
            if this is None or (dtype is not None and this != dtype) or (row_shape not in (None, shape[1:])):
                raise XdnerError(f"{path}: tensor {key!r} has dtype {entry['dtype']} shape {shape}, unlike the others")
            dtype, row_shape = this, shape[1:]
            starts.append(data_start + int(entry["data_offsets"][0]))
            bounds.append(bounds[-1] + shape[0])
        self.dtype = np.dtype(dtype if dtype is not None else np.float32)
        self.row_shape = row_shape or ()
        self.row_bytes = int(np.prod(self.row_shape, dtype=np.int64)) * self.dtype.itemsize
        self._starts = starts
        self._bounds = np.asarray(bounds, dtype=np.int64)
        self._fds: OrderedDict[int, int] = OrderedDict()

    @property
    def shape(self) -> tuple[int, ...]:
        """``(total_rows, *row_shape)``."""
        return (int(self._bounds[-1]), *self.row_shape)

    def __len__(self) -> int:
        return int(self._bounds[-1])

    def _fd(self, k: int) -> int:
        if k in self._fds:
            self._fds.move_to_end(k)
            return self._fds[k]
        if len(self._fds) >= MAX_OPEN_FILES:
            os.close(self._fds.popitem(last=False)[1])
        self._fds[k] = os.open(self.paths[k], os.O_RDONLY)
        return self._fds[k]

    def _read(self, row: int, count: int, out: np.ndarray) -> None:
        """Rows ``[row, row + count)`` (possibly across shards) into ``out`` (``count`` rows)."""
        done = 0
        while done < count:
            k = int(np.searchsorted(self._bounds, row, side="right")) - 1
            local = row - int(self._bounds[k])
            take = min(count - done, int(self._bounds[k + 1]) - row)
            size = take * self.row_bytes
            raw = os.pread(self._fd(k), size, self._starts[k] + local * self.row_bytes)
            if len(raw) != size:
                raise XdnerError(f"{self.paths[k]}: truncated (rows {local}..{local + take} of {self.key!r})")
            out[done : done + take] = np.frombuffer(raw, dtype=self.dtype).reshape(take, *self.row_shape)
            done, row = done + take, row + take

    def __getitem__(self, index: np.ndarray | Sequence[int]) -> np.ndarray:
        rows = np.asarray(index, dtype=np.int64).reshape(-1)
        out = np.empty((len(rows), *self.row_shape), dtype=self.dtype)
        if not len(rows):
            return out
        if rows.min() < 0 or rows.max() >= len(self):
            raise IndexError(f"row index out of range for {self.key!r} with {len(self)} rows")
        # shape: (n_runs,) start of each run of consecutive row numbers
        cuts = np.flatnonzero(np.diff(rows) != 1) + 1
        begins = np.concatenate([[0], cuts])
        ends = np.concatenate([cuts, [len(rows)]])
        for a, b in zip(begins.tolist(), ends.tolist(), strict=True):
            self._read(int(rows[a]), b - a, out[a:b])
        return out

    def close(self) -> None:
        """Close the open shard files (reopened on the next read)."""
        while self._fds:
            os.close(self._fds.popitem()[1])

    def __del__(self) -> None:
        with contextlib.suppress(OSError, TypeError):  # TypeError: os already torn down at interpreter exit
            self.close()
