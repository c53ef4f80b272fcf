"""The transfer cache: teacher targets for the transfer set, in checksummed safetensors shards.

Layout of ``DIR``: ``manifest.json`` (fingerprint, sizes, shard checksums) and ``shard-00000.safetensors`` ...
each holding ``lengths`` ``(n,)`` int64, ``tags`` ``(words,)`` int64, ``logits`` ``(words, num_tags)`` float16 and
``hidden`` ``(words, teacher_hidden)`` float16 for ``shard_size`` consecutive sentences. A finished shard is
never recomputed while the fingerprint (teacher weights + tokenizer, alignment settings, transfer data) holds;
an interrupted run resumes at the first missing shard. A different fingerprint clears the cache.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from xtremedistil_ner.data.records import Sentence, TeacherTargets
from xtremedistil_ner.errors import XdnerError
from xtremedistil_ner.io_utils import atomic_write, sha256_file, write_json
from xtremedistil_ner.resume import pause_point

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


def data_fingerprint(sentences: Sequence[Sentence]) -> str:
    """SHA-256 over languages and tokens of the sentences, in order."""
    digest = hashlib.sha256()
    for s in sentences:
        digest.update(s.lang.encode())
        digest.update(b"\x1f".join(t.encode() for t in s.tokens))
        digest.update(b"\x1e")
    return digest.hexdigest()


class TransferCache:
    """Sharded, resumable store of :class:`TeacherTargets`.

    Args:
        root: cache directory.
        fingerprint: identity of (teacher, tokenizer, alignment settings, transfer data).
        shard_size: sentences per shard.
    """

    def __init__(self, root: Path, fingerprint: str, shard_size: int = 4096) -> None:
        self.root = root
        self.fingerprint = fingerprint
        self.shard_size = shard_size

    def _manifest(self) -> dict:
        path = self.root / MANIFEST
        if not path.is_file():
            return {}
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            return {}

    def _shard_path(self, k: int) -> Path:
        return self.root / f"shard-{k:05d}.safetensors"

    def build(
        self,
        sentences: Sequence[Sentence],
        label: Callable[[Sequence[Sentence]], list[TeacherTargets]],
        on_sentences: Callable[[int], None] | None = None,
    ) -> int:
        """Fill missing shards by calling ``label`` on each shard's sentences; return how many shards were made."""
        manifest = self._manifest()
        n_shards = max(1, -(-len(sentences) // self.shard_size))
        same = manifest.get("fingerprint") == self.fingerprint and manifest.get("version") == FORMAT_VERSION
        if not same:
            self.clear()
            manifest = {"version": FORMAT_VERSION, "fingerprint": self.fingerprint, "shards": {}}
        manifest.update(num_sentences=len(sentences), shard_size=self.shard_size, num_shards=n_shards)
        made = 0
        for k in range(n_shards):
            part = sentences[k * self.shard_size : (k + 1) * self.shard_size]
            name = self._shard_path(k).name
            if self._shard_ok(name, manifest):
                if on_sentences:
                    on_sentences(len(part))
                continue
            targets = label(part)
            self._write_shard(k, targets)
            manifest["shards"][name] = sha256_file(self._shard_path(k))
            write_json(self.root / MANIFEST, manifest)
            made += 1
            if on_sentences:
                on_sentences(len(part))
            pause_point(f"label:shard:{k}")
        write_json(self.root / MANIFEST, manifest)
        return made

    def _shard_ok(self, name: str, manifest: dict) -> bool:
        path = self.root / name
        return name in manifest.get("shards", {}) and path.is_file()

    def _write_shard(self, k: int, targets: list[TeacherTargets]) -> None:
        tensors = {
            "lengths": torch.tensor([len(t.tags) for t in targets], dtype=torch.int64),
            "tags": torch.from_numpy(np.concatenate([t.tags for t in targets]).astype(np.int64)),
            "logits": torch.from_numpy(np.concatenate([t.logits for t in targets]).astype(np.float16)),
            "hidden": torch.from_numpy(np.concatenate([t.hidden for t in targets]).astype(np.float16)),
        }
        atomic_write(self._shard_path(k), lambda tmp: save_file(tensors, str(tmp)))

    def load(self, verify: bool = True) -> dict[str, np.ndarray]:
        """Concatenate all shards: ``lengths``, ``tags``, ``logits``, ``hidden`` arrays in sentence order.

        Raises:
            XdnerError: the cache is incomplete, or a shard is missing or fails its checksum.
        """
        manifest = self._manifest()
        if manifest.get("fingerprint") != self.fingerprint:
            raise XdnerError(f"{self.root}: cache does not match this teacher/data (rerun to rebuild it)")
        parts: dict[str, list[np.ndarray]] = {"lengths": [], "tags": [], "logits": [], "hidden": []}
        for k in range(manifest["num_shards"]):
            path = self._shard_path(k)
            if path.name not in manifest["shards"] or not path.is_file():
                raise XdnerError(f"{path}: cache shard missing (rerun to resume labeling)")
            if verify and sha256_file(path) != manifest["shards"][path.name]:
                raise XdnerError(f"{path}: cache shard checksum mismatch (corrupt; delete it and rerun)")
            for key, value in load_file(str(path)).items():
                parts[key].append(value.numpy())
        return {k: np.concatenate(v) for k, v in parts.items()}

    def clear(self) -> None:
        """Delete the shards and manifest (only files this class writes)."""
        if not self.root.is_dir():
            return
        for path in self.root.glob("shard-*.safetensors"):
            path.unlink()
        (self.root / MANIFEST).unlink(missing_ok=True)
