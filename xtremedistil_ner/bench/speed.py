"""``xdner bench speed``: parameters, latency, throughput and peak memory of the student vs teachers, one run.

Every model runs in a fresh worker process (``python -m xtremedistil_ner.bench.speed SPEC.json``), so its peak
resident memory is its own and no model warms another's caches. Workloads are raw texts of exactly
``words`` words cut from real test sentences; both sides split them into words the same way
(:func:`~xtremedistil_ner.runtime.words.split_words`).

- **end to end**: raw texts -> entities (student: word split, tokenizer, embedding bag, BiLSTM, CRF Viterbi and
  marginals, spans; teacher: word split, tokenizer, transformer, first-subword tags, spans). For the student
  twice: with a fresh word cache each call (every word tokenized, once per call: ``end_to_end``) and with one
  cache kept across calls, as a server keeps it (``end_to_end_warm``; here every word has been seen).
- **model only**: the network's forward on inputs prepared beforehand (student: emissions; teacher: logits).

Each figure is the median of ``repeats`` timed runs after ``warmup`` untimed ones.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from itertools import zip_longest
from pathlib import Path
from typing import Any

from xtremedistil_ner.errors import XdnerError
from xtremedistil_ner.peak_memory import peak_rss_mib
from xtremedistil_ner.progress import Progress


@dataclass(frozen=True)
class ModelSpec:
    """One model to measure: ``kind`` is ``student``, ``student-onnx``, ``student-int8`` or ``hf``."""

    name: str
    kind: str
    path: str
    random_weights: bool = False


@dataclass
class Measurement:
    """What a worker reports for one model."""

    name: str
    kind: str
    params: int
    latency_ms: dict[str, float] = field(default_factory=dict)  # "{batch|single}/{end_to_end|model}" -> median
    words_per_second: dict[str, float] = field(default_factory=dict)
    pieces_per_text: float = 0.0
    peak_rss_mb: float = 0.0


WARMUP_SECONDS = 2.0


def is_student(kind: str) -> bool:
    """Whether a model of ``kind`` (see :class:`ModelSpec`) is one of the student's runtimes."""
    return kind.startswith("student")


def median_ms(fn: Callable[[], object], warmup: int, repeats: int) -> float:
    """Median wall time of ``fn`` in ms over ``repeats`` runs, after at least ``warmup`` untimed runs and 2 s.

    Fast models need the time floor: ONNX Runtime and oneDNN settle over their first few dozen calls
    (docs/RESULTS.md, "Measurements behind code choices").
    """
    start, done = time.perf_counter(), 0
    while done < warmup or time.perf_counter() - start < WARMUP_SECONDS:
        fn()
        done += 1
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def make_texts(data_dir: Path, n_texts: int, words: int, langs: Sequence[str] = ()) -> list[str]:
    """``n_texts`` raw texts of exactly ``words`` words, cut from the test sentences of several languages.

    Raises:
        XdnerError: no test data under ``data_dir``.
    """
    from xtremedistil_ner.runtime.words import split_words

    files = sorted(data_dir.glob("*/test.tsv"))
    files = [f for f in files if not langs or f.parent.name in langs]
    if not files:
        raise XdnerError(f"{data_dir}: no */test.tsv files to build the benchmark texts from")
    per_file = max(1, (n_texts * words) // (len(files) * 8) + 1)
    by_lang: list[list[list[str]]] = []
    for path in files:
        with path.open(encoding="utf-8") as handle:
            lines = [line.split("\t")[0] for _, line in zip(range(per_file), handle, strict=False)]
        by_lang.append([[w.text for w in split_words(line)] for line in lines])
    # round robin over languages, sentence by sentence, so each text mixes languages and scripts
    stream = [w for group in zip_longest(*by_lang, fillvalue=[]) for sentence in group for w in sentence]
    if not stream:
        raise XdnerError(f"{data_dir}: the test files hold no words")
    while len(stream) < n_texts * words:
        stream = stream + stream
    return [" ".join(stream[i * words : (i + 1) * words]) for i in range(n_texts)]


# ----------------------------------------------------------------------------------------------- workers


def _student_worker(spec: ModelSpec, batch: list[str], single: list[str], warmup: int, repeats: int) -> Measurement:
    """One student runtime, as served: PyTorch through ``load_torch_tagger``, ONNX through the torch-free runtime."""
    from xtremedistil_ner.checkpoint import load_student
    from xtremedistil_ner.runtime.features import featurize
    from xtremedistil_ner.runtime.onnx import load_onnx_tagger
    from xtremedistil_ner.runtime.pieces import PieceCache
    from xtremedistil_ner.runtime.words import split_words
    from xtremedistil_ner.serve.torch_backend import TorchBackend, load_torch_tagger
    from xtremedistil_ner.student.vocab import make_batch

    student_dir = Path(spec.path)
    if spec.kind == "student":
        tagger = load_torch_tagger(student_dir)
    else:
        tagger = load_onnx_tagger(student_dir, "float32" if spec.kind == "student-onnx" else "int8")
    backend: Any = tagger.backend
    tokenizer = tagger.pieces.tokenizer
    model = load_student(student_dir).model
    m = Measurement(spec.name, spec.kind, model.num_parameters())
    for label, texts in (("batch", batch), ("single", single)):
        sentences = [[w.text for w in split_words(t)] for t in texts]
        features = featurize(tokenizer, sentences)
        ids = list(range(len(sentences)))
        model_only: Callable[[], object]
        if isinstance(backend, TorchBackend):
            inputs = make_batch(features, backend.lookup, ids)
            model_only = partial(_torch_forward, backend.model, inputs)
        else:
            model_only = partial(backend.session_for(len(ids)).run, None, backend.feeds(features, ids))

        cold = partial(_predict, tagger, texts, None)  # a fresh word cache at every call
        warm = partial(_predict, tagger, texts, PieceCache(tokenizer))  # one cache for all calls
        fns = {"end_to_end": cold, "end_to_end_warm": warm, "model": model_only}
        _record(m, label, sum(len(s) for s in sentences), fns, warmup, repeats)
    return m


def _predict(tagger: Any, texts: list[str], pieces: Any) -> None:
    """Raw texts -> entities through ``pieces`` (None: a fresh, empty word cache for this call only)."""
    from xtremedistil_ner.runtime.pieces import PieceCache
    from xtremedistil_ner.runtime.predict import predict_texts

    cache = PieceCache(tagger.pieces.tokenizer) if pieces is None else pieces  # an empty cache is falsy: test None
    predict_texts(tagger.backend, cache, tagger.tags, texts, batch_size=len(texts))


def _torch_forward(model: Any, inputs: Any) -> None:
    import torch

    with torch.inference_mode():
        model(inputs)


def _hf_worker(spec: ModelSpec, batch: list[str], single: list[str], warmup: int, repeats: int) -> Measurement:
    import torch
    from transformers import AutoConfig, AutoModelForTokenClassification

    from xtremedistil_ner.config import TeacherConfig
    from xtremedistil_ner.data.records import Sentence
    from xtremedistil_ner.data.tags import TagVocab, bio_spans
    from xtremedistil_ner.runtime.words import split_words
    from xtremedistil_ner.teacher import collate, encode, predict_targets
    from xtremedistil_ner.tokenizer_files import load_tokenizer

    tags = TagVocab.from_types(["PER", "ORG", "LOC"])
    tokenizer = load_tokenizer(spec.path)
    if spec.random_weights:
        config = AutoConfig.from_pretrained(spec.path, num_labels=len(tags))
        model = AutoModelForTokenClassification.from_config(config)
    else:
        model = AutoModelForTokenClassification.from_pretrained(spec.path)
    model.eval()
    cfg = TeacherConfig(max_length=128, label_batch_tokens=1 << 20)
    m = Measurement(spec.name, spec.kind, sum(p.numel() for p in model.parameters()))
    for label, texts in (("batch", batch), ("single", single)):
        sentences = [Sentence(tuple(w.text for w in split_words(t)), None, "") for t in texts]
        inputs = collate(tokenizer, encode(tokenizer, sentences, cfg.max_length, join_unspaced=cfg.join_unspaced))
        if label == "batch":
            m.pieces_per_text = float(inputs["attention_mask"].sum()) / len(texts) - 2

        def model_only(inputs: Any = inputs) -> None:
            with torch.inference_mode():
                model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])

        def end_to_end(texts: list[str] = texts) -> None:
            words = [Sentence(tuple(w.text for w in split_words(t)), None, "") for t in texts]
            with torch.inference_mode():
                for _, targets in predict_targets(model, tokenizer, words, cfg, "cpu", with_hidden=False):
                    bio_spans(tags.decode(targets.tags.tolist()))

        _record(
            m,
            label,
            sum(len(s.tokens) for s in sentences),
            {"end_to_end": end_to_end, "model": model_only},
            warmup,
            repeats,
        )
    return m


def _record(
    m: Measurement,
    label: str,
    words: int,
    fns: Mapping[str, Callable[[], object]],
    warmup: int,
    repeats: int,
) -> None:
    for what, fn in fns.items():
        ms = median_ms(fn, warmup, repeats)
        m.latency_ms[f"{label}/{what}"] = ms
        m.words_per_second[f"{label}/{what}"] = words / (ms / 1000)


def worker_main(spec_path: str) -> None:
    """Entry of one worker process: read the spec JSON, measure, print one JSON line."""
    job = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    spec = ModelSpec(**job["spec"])
    repeats = job["repeats"] if is_student(spec.kind) else job["teacher_repeats"]
    args = (spec, job["batch"], job["single"], job["warmup"], repeats)
    m = _hf_worker(*args) if spec.kind == "hf" else _student_worker(*args)
    m.peak_rss_mb = peak_rss_mib()
    print(json.dumps(asdict(m)))


def _baseline_worker() -> float:
    """Peak RSS (MB) of a worker that imports torch and transformers and measures nothing."""
    code = (
        "import resource, torch, transformers, xtremedistil_ner.serve.torch_backend;"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout.strip())


# ----------------------------------------------------------------------------------------------- orchestration


def run_speed(
    specs: Sequence[ModelSpec],
    texts: list[str],
    out: Path,
    warmup: int = 3,
    repeats: int = 30,
    teacher_repeats: int = 7,
    batch_size: int = 32,
    on_model: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Measure every model in its own process; write ``out/speed.json``; return it.

    Raises:
        XdnerError: a worker failed (its last error line is shown).
    """
    from xtremedistil_ner.atomic_files import write_json

    job: dict[str, Any] = {
        "batch": texts[:batch_size],
        "single": texts[:1],
        "warmup": warmup,
        "repeats": repeats,
        "teacher_repeats": teacher_repeats,
    }
    results = []
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        for spec in specs:
            if on_model:
                on_model(spec.name)
            path = Path(tmp) / "spec.json"
            path.write_text(json.dumps({**job, "spec": asdict(spec)}), encoding="utf-8")
            done = subprocess.run(
                [sys.executable, "-m", "xtremedistil_ner.bench.speed", str(path)],
                capture_output=True,
                text=True,
                env=env,
            )
            if done.returncode != 0:
                tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
                raise XdnerError(f"bench worker for {spec.name} failed: {tail}")
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    report = {
        "workload": {
            "batch": f"{min(batch_size, len(texts))} texts x {len(texts[0].split())} words",
            "single": f"1 text x {len(texts[0].split())} words",
            "warmup": warmup,
            "repeats_student": repeats,
            "repeats_teacher": teacher_repeats,
            "torch_threads": _torch_threads(),
        },
        "baseline_rss_mb": _baseline_worker(),
        "models": results,
    }
    report["ratios"] = ratios(report)
    write_json(out / "speed.json", report)
    return report


def student_specs(student: Path, teacher: Path | None, assets: Path) -> list[ModelSpec]:
    """The models to time: the student on each runtime, its teacher, mBERT-base and XLM-R-base (random weights).

    The student is exported to ``STUDENT/onnx`` (float32 and int8) first when it has no export yet; the teacher
    is ``teacher`` or the ``teacher`` directory beside the student, when it exists.
    """
    if not (student / "onnx" / "model.int8.onnx").is_file():
        from xtremedistil_ner.checkpoint import load_student
        from xtremedistil_ner.serve.onnx_export import export_onnx

        export_onnx(load_student(student).model, student / "onnx", int8=True)
    specs = [
        ModelSpec("student (PyTorch)", "student", str(student)),
        ModelSpec("student (ONNX)", "student-onnx", str(student)),
        ModelSpec("student (ONNX int8)", "student-int8", str(student)),
    ]
    own = teacher or student.parent / "teacher"
    if (own / "config.json").is_file():
        specs.append(ModelSpec(f"its teacher ({own.name})", "hf", str(own)))
    for name, folder in (("mBERT-base", "bert-base-multilingual-cased"), ("XLM-R-base", "xlm-roberta-base")):
        if (assets / folder / "config.json").is_file():
            specs.append(ModelSpec(f"{name} (random weights)", "hf", str(assets / folder), random_weights=True))
    return specs


def bench_student(
    student: Path,
    teacher: Path | None,
    assets: Path,
    data: Path,
    out: Path,
    words: int = 32,
    batch_size: int = 32,
    repeats: int = 30,
    teacher_repeats: int = 7,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """``xdner bench speed``: time every model of :func:`student_specs`; write ``speed.json`` and ``SPEED.md``."""
    from xtremedistil_ner.atomic_files import write_text

    progress = progress or Progress()
    specs = student_specs(student, teacher, assets)
    texts = make_texts(data, batch_size, words)
    advance = progress.task("bench: models", len(specs))

    def step(name: str) -> None:
        progress.note(f"measuring {name}")
        advance(1)

    report = run_speed(specs, texts, out, repeats=repeats, teacher_repeats=teacher_repeats, on_model=step)
    write_text(out / "SPEED.md", to_markdown(report))
    return report


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def ratios(report: dict[str, Any]) -> dict[str, dict[str, dict[str, float]]]:
    """``{teacher: {student runtime: {"params" | latency key: teacher / student}}}`` for every pair."""
    students = [m for m in report["models"] if is_student(m["kind"])]
    out: dict[str, dict[str, dict[str, float]]] = {}
    for m in report["models"]:
        if m["kind"] != "hf":
            continue
        out[m["name"]] = {}
        for st in students:
            row = {"params": m["params"] / st["params"]}
            row.update({key: ms / st["latency_ms"][key] for key, ms in m["latency_ms"].items()})
            for label in ("batch", "single"):  # a teacher has no word cache: its end to end vs the student's warm
                warm = st["latency_ms"].get(f"{label}/end_to_end_warm")
                if warm:
                    row[f"{label}/end_to_end_warm"] = m["latency_ms"][f"{label}/end_to_end"] / warm
            out[m["name"]][st["name"]] = row
    return out


def to_markdown(report: dict[str, Any]) -> str:
    """The table a person reads: one row per model, then the ratios vs the student."""
    w = report["workload"]
    lines = [
        f"Workload: batch = {w['batch']}, single = {w['single']}; medians of {w['repeats_student']} (students) / "
        f"{w['repeats_teacher']} (teachers) runs after >= {w['warmup']} warm-up runs and >= 2 s; torch threads "
        f"{w['torch_threads']}; each model in its own process (baseline process {report['baseline_rss_mb']:.0f} MB).",
        "",
        "e2e = text -> entities; warm = the student's word cache kept across calls (teachers have none).",
        "",
        "| model | params | batch e2e ms | batch e2e warm ms | batch model ms | single e2e ms | single e2e warm ms "
        "| single model ms | batch e2e words/s | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]

    def cell(lat: dict[str, float], key: str) -> str:
        return f"{lat[key]:.2f}" if key in lat else "-"

    for m in report["models"]:
        lat = m["latency_ms"]
        lines.append(
            f"| {m['name']} | {m['params']:,} | {lat['batch/end_to_end']:.2f} | {cell(lat, 'batch/end_to_end_warm')} "
            f"| {lat['batch/model']:.2f} | {lat['single/end_to_end']:.2f} | {cell(lat, 'single/end_to_end_warm')} | "
            f"{lat['single/model']:.2f} | {m['words_per_second']['batch/end_to_end']:,.0f} | {m['peak_rss_mb']:.0f} |"
        )
    students = [m for m in report["models"] if is_student(m["kind"])]
    if students:
        lines += [
            "",
            "Share of the student's end-to-end time spent in the model (the rest: word splitting, tokenizer, CRF,",
            "spans):",
            "",
            "| model | batch e2e | batch e2e warm | single e2e | single e2e warm |",
            "|---|---|---|---|---|",
        ]
        for m in students:
            cells = []
            for label in ("batch", "single"):
                for key in ("end_to_end", "end_to_end_warm"):
                    total = m["latency_ms"].get(f"{label}/{key}")
                    cells.append(f"{100 * m['latency_ms'][f'{label}/model'] / total:.0f}%" if total else "-")
            lines.append(f"| {m['name']} | " + " | ".join(cells) + " |")
    if report["ratios"]:
        lines += [
            "",
            "How many times larger / slower than each student runtime:",
            "",
            "| model | vs | params | batch e2e | batch e2e warm | batch model | single e2e | single e2e warm "
            "| single model |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for name, per_student in report["ratios"].items():
            for student, r in per_student.items():
                lines.append(
                    f"| {name} | {student} | {r['params']:.1f}x | {r['batch/end_to_end']:.0f}x | "
                    f"{r.get('batch/end_to_end_warm', 0):.0f}x | {r['batch/model']:.0f}x | "
                    f"{r['single/end_to_end']:.0f}x | {r.get('single/end_to_end_warm', 0):.0f}x | "
                    f"{r['single/model']:.0f}x |"
                )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - worker process
    worker_main(sys.argv[1])
