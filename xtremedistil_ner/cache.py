"""The transfer cache: teacher targets for the transfer set, in checksummed safetensors shards.

Layout of ``DIR``: ``manifest.json`` (fingerprint, sizes, shard checksums) and ``shard-00000.safetensors`` ...
(each with its checksum beside it in ``shard-00000.sha256``), each holding ``lengths`` ``(n,)`` int64, ``tags``
``(words,)`` int64, ``logits`` ``(words, num_tags)`` float16 and ``hidden`` ``(words, teacher_hidden)`` float16 for
``shard_size`` consecutive sentences. A finished shard is never recomputed while the fingerprint (teacher
weights + tokenizer, alignment settings, transfer data) holds; an interrupted run labels only the missing
shards. A different fingerprint clears the cache. Training reads the shards row by row
(:meth:`TransferCache.rows`), so the cache never has to fit in memory.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from xtremedistil_ner.atomic_files import atomic_write, sha256_file, write_json, write_text
from xtremedistil_ner.config import TeacherConfig
from xtremedistil_ner.data.corpus import Corpus
from xtremedistil_ner.data.records import Sentence, TeacherTargets
from xtremedistil_ner.errors import XdnerError
from xtremedistil_ner.events import emit
from xtremedistil_ner.malloc_tuning import trim_heap
from xtremedistil_ner.shard_rows import ShardRows

MANIFEST = "manifest.json"
FORMAT_VERSION = 2


def data_fingerprint(sentences: Sequence[Sentence]) -> str:
    """SHA-256 over languages and tokens of the sentences, in order."""
    digest = hashlib.sha256()
    for s in sentences:
        digest.update(s.lang.encode())
        digest.update(b"\x1f".join(t.encode() for t in s.tokens))
        digest.update(b"\x1e")
    return digest.hexdigest()


def context_fingerprint(sentences: Sequence[Sentence]) -> str:
    """SHA-256 over each sentence's document context (``Sentence.context``), in order."""
    digest = hashlib.sha256()
    for s in sentences:
        for side in s.context or ((), ()):
            digest.update(b"\x1f".join(t.encode() for t in side))
            digest.update(b"\x1d")
        digest.update(b"\x1e")
    return digest.hexdigest()


def _with_context(teacher: TeacherConfig, sentences: Sequence[Sentence]) -> str:
    """The context fingerprint where the teacher reads context (keys made without it stay valid)."""
    return f";context={teacher.context}:{context_fingerprint(sentences)}" if teacher.context else ""


def _added_settings(teacher: TeacherConfig, *names: str) -> str:
    """``;name=value`` for each teacher setting added to a key after it existed, only where it is not the default.

    Keys made before a setting existed (at its default) so stay valid.
    """
    defaults = TeacherConfig()
    return "".join(
        f";{name}={getattr(teacher, name)}" for name in names if getattr(teacher, name) != getattr(defaults, name)
    )


def transfer_key(teacher_fingerprint: str, transfer: Sequence[Sentence], teacher: TeacherConfig) -> str:
    """The cache's fingerprint: transfer data, teacher weights and tokenizer, and the alignment settings."""
    settings = f"pooling={teacher.pooling};layer={teacher.hidden_layer};max_length={teacher.max_length}"
    settings += _added_settings(teacher, "decode", "join_unspaced") + _with_context(teacher, transfer)
    return hashlib.sha256((data_fingerprint(transfer) + teacher_fingerprint + settings).encode()).hexdigest()


def teacher_scores_key(teacher_fingerprint: str, test: Sequence[Sentence], mode: str, teacher: TeacherConfig) -> str:
    """What the teacher's saved test scores depend on: teacher, test sentences, seqeval mode, labeling settings."""
    text = f"{teacher_fingerprint};{data_fingerprint(test)};{mode};{teacher.max_length};{teacher.autocast}"
    text += _added_settings(teacher, "pooling", "decode", "join_unspaced") + _with_context(teacher, test)
    return hashlib.sha256(text.encode()).hexdigest()


def run_fingerprint(recipe: dict[str, Any], teacher_fingerprint: str, corpus: Corpus) -> str:
    """Identity of a student's training: the recipe (but what changes no number), the teacher and every split."""
    settings = {k: v for k, v in recipe.items() if k not in ("name", "eval", "flat_memory", "teacher_process")}
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    digest.update(teacher_fingerprint.encode())
    for split in ("train", "dev", "transfer"):
        digest.update(data_fingerprint(corpus.split(split)).encode())
    return digest.hexdigest()


class TransferCache:
    """Sharded, resumable store of :class:`TeacherTargets`.

    Args:
        root: cache directory.
        fingerprint: identity of (teacher, tokenizer, alignment settings, transfer data).
        shard_size: sentences per shard.
        event: the run event announced after shard K is written, ``{event}:K`` (:mod:`xtremedistil_ner.events`).
    """

    def __init__(self, root: Path, fingerprint: str, shard_size: int = 4096, event: str = "label:shard") -> None:
        self.root = root
        self.fingerprint = fingerprint
        self.shard_size = shard_size
        self.event = event

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
        rank: int = 0,
        world: int = 1,
        barrier: Callable[[], object] | None = None,
    ) -> int:
        """Fill missing shards by calling ``label`` on each shard's sentences; return how many shards were made.

        With ``world`` processes, process ``rank`` labels shards ``rank, rank + world, ...``; every process must
        call this (``barrier`` is where they meet). Each shard is written atomically with a ``.sha256`` sidecar, so
        a killed run keeps every finished shard whichever process made it.
        """
        barrier = barrier or (lambda: None)
        n_shards = max(1, -(-len(sentences) // self.shard_size))
        if rank == 0:
            manifest = self._manifest()
            same = manifest.get("fingerprint") == self.fingerprint and manifest.get("version") == FORMAT_VERSION
            if not same or manifest.get("shard_size") != self.shard_size:
                self.clear()
            self.root.mkdir(parents=True, exist_ok=True)
            write_json(self.root / MANIFEST, self._manifest_for(len(sentences), n_shards))
        barrier()
        made = 0
        for k in range(n_shards):
            part = sentences[k * self.shard_size : (k + 1) * self.shard_size]
            if k % world != rank or self._shard_ok(k):
                if on_sentences and rank == 0:
                    on_sentences(len(part))
                continue
            self._write_shard(k, label(part))
            write_text(self._checksum_path(k), sha256_file(self._shard_path(k)) + "\n")
            trim_heap()
            made += 1
            if on_sentences:
                on_sentences(len(part))
            emit(f"{self.event}:{k}")
        barrier()
        if rank == 0:
            write_json(self.root / MANIFEST, self._manifest_for(len(sentences), n_shards, with_checksums=True))
        barrier()
        return made

    def _manifest_for(self, n_sentences: int, n_shards: int, with_checksums: bool = False) -> dict:
        shards = {}
        if with_checksums:
            shards = {self._shard_path(k).name: self._checksum(k) for k in range(n_shards) if self._shard_ok(k)}
        return {
            "version": FORMAT_VERSION,
            "fingerprint": self.fingerprint,
            "num_sentences": n_sentences,
            "shard_size": self.shard_size,
            "num_shards": n_shards,
            "shards": shards,
        }

    def _checksum_path(self, k: int) -> Path:
        return self.root / f"shard-{k:05d}.sha256"

    def _checksum(self, k: int) -> str:
        return self._checksum_path(k).read_text(encoding="utf-8").strip()

    def _shard_ok(self, k: int) -> bool:
        return self._shard_path(k).is_file() and self._checksum_path(k).is_file()

    def _write_shard(self, k: int, targets: list[TeacherTargets]) -> None:
        tensors = {
            "lengths": torch.tensor([len(t.tags) for t in targets], dtype=torch.int64),
            "tags": torch.from_numpy(np.concatenate([t.tags for t in targets]).astype(np.int64)),
            "logits": torch.from_numpy(np.concatenate([t.logits for t in targets]).astype(np.float16)),
            "hidden": torch.from_numpy(np.concatenate([t.hidden for t in targets]).astype(np.float16)),
        }
        atomic_write(self._shard_path(k), lambda tmp: save_file(tensors, str(tmp)))

    def _verified_paths(self, verify: bool) -> list[Path]:
        manifest = self._manifest()
        if manifest.get("fingerprint") != self.fingerprint or manifest.get("version") != FORMAT_VERSION:
            raise XdnerError(f"{self.root}: cache does not match this teacher/data (rerun to rebuild it)")
        paths = []
        for k in range(manifest["num_shards"]):
            path = self._shard_path(k)
            if not self._shard_ok(k):
                raise XdnerError(f"{path}: cache shard missing (rerun to resume labeling)")
            if verify and sha256_file(path) != self._checksum(k):
                raise XdnerError(f"{path}: cache shard checksum mismatch (corrupt; delete it and rerun)")
            paths.append(path)
        return paths

    def rows(self, verify: bool = True) -> dict[str, ShardRows]:
        """``tags``, ``logits``, ``hidden`` (and ``lengths``) as :class:`ShardRows`: read per batch, never loaded.

        Raises:
            XdnerError: the cache is incomplete, or a shard is missing or fails its checksum.
        """
        paths = self._verified_paths(verify)
        return {key: ShardRows(paths, key) for key in ("lengths", "tags", "logits", "hidden")}

    def load(self, verify: bool = True) -> dict[str, np.ndarray]:
        """Concatenate all shards into memory: ``lengths``, ``tags``, ``logits``, ``hidden`` in sentence order.

        Raises:
            XdnerError: the cache is incomplete, or a shard is missing or fails its checksum.
        """
        parts: dict[str, list[np.ndarray]] = {"lengths": [], "tags": [], "logits": [], "hidden": []}
        for path in self._verified_paths(verify):
            for key, value in load_file(str(path)).items():
                parts[key].append(value.numpy())
        return {k: np.concatenate(v) for k, v in parts.items()}

    def clear(self) -> None:
        """Delete the shards and manifest (only files this class writes)."""
        if not self.root.is_dir():
            return
        for pattern in ("shard-*.safetensors", "shard-*.sha256"):
            for path in self.root.glob(pattern):
                path.unlink()
        (self.root / MANIFEST).unlink(missing_ok=True)
