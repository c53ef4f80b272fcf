"""The ``xdner`` command line: each command body is one library call plus rendering."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

# transformers' own bars ("Loading weights", "Writing model shards") and load reports (a new classification head
# is expected here) would interleave with ours: off unless the user sets these variables
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from xtremedistil_ner.errors import XdnerError
from xtremedistil_ner.progress import Progress as ProgressHook
from xtremedistil_ner.wording import plural

app = typer.Typer(
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    help="Distil multilingual NER teachers into one small shared BiLSTM-CRF student.\n\n"
    "Start with:  xdner distill --langs all   (default CPU recipe over ../shared/data/wikiann)",
)
teacher_app = typer.Typer(no_args_is_help=True, help="Fine-tune the teacher, or label the transfer set with it.")
app.add_typer(teacher_app, name="teacher")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks that print and write figures.")
app.add_typer(bench_app, name="bench")
data_app = typer.Typer(no_args_is_help=True, help="Inspect a data folder before training on it.")
app.add_typer(data_app, name="data")
recipe_app = typer.Typer(no_args_is_help=True, help="Inspect recipes.")
app.add_typer(recipe_app, name="recipe")
console = Console(stderr=True)
# under accelerate launch / torchrun every process runs the command: only the main one prints results; in a log
# or a pipe (no terminal) tables keep their full width instead of rich's 80 columns
out_console = Console(
    quiet=os.environ.get("RANK", "0") != "0", width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 240
)

RecipeOpt = Annotated[
    str | None,
    typer.Option("--recipe", "-r", help="A bundled recipe's name (xdner recipe list) or a TOML file (default: cpu)."),
]
SingleRecipeOpt = Annotated[
    str, typer.Option("--recipe", "-r", help="A bundled recipe's name (xdner recipe list) or a TOML file.")
]
LangsOpt = Annotated[str | None, typer.Option(help="'all' (the 41 of languages.tsv) or codes, e.g. 'de,fr,hi'.")]
DataOpt = Annotated[Path | None, typer.Option(help="Data folder: DIR/<lang>/{train,dev,test}.tsv (overrides recipe).")]
OutOpt = Annotated[Path, typer.Option(help="Run directory (teacher, cache, student, reports).")]
SeedOpt = Annotated[int | None, typer.Option(help="Override the recipe seed.")]
EncodingOpt = Annotated[str, typer.Option(help="Text encoding of the data files, e.g. utf-8 or latin-1.")]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override one recipe key, SECTION.KEY=VALUE (repeatable), e.g. --set data.max_transfer_per_lang=2000.",
    ),
]


class RichProgress(ProgressHook):
    """Renders library progress with rich bars (one task per long loop)."""

    def __init__(self) -> None:
        self.bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not _is_main_process(),
        )
        self.bars.start()

    def task(self, description: str, total: int) -> Callable[[int], None]:
        """Add a bar."""
        task_id = self.bars.add_task(description, total=total)
        return lambda n: self.bars.advance(task_id, n)

    def note(self, text: str) -> None:
        """Print a dim status line."""
        if _is_main_process():
            self.bars.console.print(f"[dim]{escape(text)}[/dim]")  # "[data] ..." is text, not markup

    def close(self) -> None:
        """Stop the live display."""
        self.bars.stop()


class PlainProgress(ProgressHook):
    """Progress for logs and CI (no terminal): plain stderr lines at every tenth of a task, no live bars."""

    def __init__(self) -> None:
        self.quiet = not _is_main_process()

    def _say(self, text: str) -> None:
        if not self.quiet:
            print(text, file=sys.stderr, flush=True)

    def task(self, description: str, total: int) -> Callable[[int], None]:
        """Announce a task; report it at a tenth of the way at most every 15 s, and at its end."""
        start = last = time.perf_counter()
        done, next_tenth = 0, 1
        self._say(f"{description}: 0/{total:,}")

        def advance(n: int) -> None:
            nonlocal done, next_tenth, last
            done += n
            now = time.perf_counter()
            if total <= 0 or (done < total and (done * 10 < next_tenth * total or now - last < 15)):
                return
            next_tenth, last = done * 10 // total + 1, now
            share, elapsed = f"{done:,}/{total:,} ({100 * done / total:.0f}%)", now - start
            left = "" if done >= total else f", ~{elapsed * (total - done) / max(done, 1):.0f}s left"
            self._say(f"{description}: {share} {elapsed:.0f}s{left}")

        return advance

    def note(self, text: str) -> None:
        """A status line."""
        self._say(text)


def _progress() -> ProgressHook:
    """Live bars in a terminal, plain lines in a log."""
    return RichProgress() if console.is_terminal else PlainProgress()


def _is_main_process() -> bool:
    return os.environ.get("RANK", "0") == "0" and os.environ.get("LOCAL_RANK", "0") == "0"


def _fail(message: str) -> None:
    console.print(f"[bold red]error:[/bold red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


def _load(
    recipe: str | Path | None,
    langs: str | None,
    data: Path | None,
    seed: int | None,
    sets: list[str] | None = None,
    encoding: str | None = None,
) -> Any:
    from xtremedistil_ner.config import load_recipe, parse_assignment
    from xtremedistil_ner.recipe_files import resolve_recipe

    overrides = dict(parse_assignment(item) for item in sets or ())
    overrides.update({"data.langs": langs, "data.data_dir": str(data) if data else None, "seed": seed})
    if encoding:
        overrides["data.encoding"] = encoding
    return load_recipe(resolve_recipe(recipe), **overrides)


def _recipe_path(recipe: str | None) -> Path:
    from xtremedistil_ner.recipe_files import resolve_recipe

    return _run(lambda p: resolve_recipe(recipe))


def _summary(title: str, rows: list[tuple[str, str]], to: Console | None = None) -> None:
    """Print the closing two-column summary table of a command (main process only; stdout unless ``to``)."""
    from rich.table import Table

    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(key, value)
    (to or out_console).print(table)


def _teacher_rows(s: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        ("teacher", s["teacher"]),
        ("status", s["status"]),
        ("model", f"{s['model']}, {s['params']:,} parameters"),
        ("tags", s["tags"]),
        ("labeled data", f"{s['train_sentences']:,} train sentences in {plural(s['languages'], 'language')}"),
    ]


def _run(fn: Callable[[ProgressHook], Any]) -> Any:
    progress = _progress()
    try:
        return fn(progress)
    except XdnerError as exc:
        progress.close()
        _fail(str(exc))
    finally:
        progress.close()


@app.command()
def distill(
    recipe: RecipeOpt = None,
    langs: LangsOpt = None,
    data: DataOpt = None,
    out: OutOpt = Path("runs/latest"),
    seed: SeedOpt = None,
    encoding: Annotated[
        str | None, typer.Option(help="Text encoding of the data files, e.g. latin-1 (overrides recipe).")
    ] = None,
    set_: SetOpt = None,
) -> None:
    """Run the whole pipeline: teacher -> transfer cache -> student stages -> per-language report.

    A trained teacher and a transfer cache already in OUT are reused.

    Examples:
      xdner distill --langs all
      xdner distill --recipe single --langs de --data my_data --out runs/de   # your own folder, one language
      xdner distill --set data.max_transfer_per_lang=2000 --out runs/small

    Rerunning a killed run with the same --out resumes it (see README, "Crash and resume").
    """
    from xtremedistil_ner.pipeline import run_distill
    from xtremedistil_ner.report import macro_line, render_table

    cfg = _run(lambda p: _load(recipe, langs, data, seed, set_, encoding))
    report = _run(lambda p: run_distill(cfg, out, p))
    out_console.print(render_table(report))
    out_console.print(f"{macro_line(report)}\nreports: {out}/report.md")


def _teacher_trained(cfg: Any, out: Path) -> None:
    from xtremedistil_ner.pipeline import train_teacher_only

    s = _run(lambda p: train_teacher_only(cfg, out, p))
    rows = _teacher_rows(s)
    if "dev_curve" in s:
        curve = s["dev_curve"]
        kept = f"{curve['best_f1']:.2f} at step {curve['best_step']:,} of {curve['total_steps']:,} (kept)"
        rows.append(("dev F1", kept))
    if "test_f1" in s:
        rows.append(("test F1", ", ".join(f"{lang} {f1:.2f}" for lang, f1 in s["test_f1"].items())))
    _summary("xdner teacher train", [*rows, ("time", f"{s['seconds']:.1f} s")])
    out_console.print(f"next: xdner teacher label --out {out}   (or xdner distill --out {out})")


def _teacher_labeled(cfg: Any, out: Path) -> None:
    from xtremedistil_ner.pipeline import label_only

    s = _run(lambda p: label_only(cfg, out, p))
    shards = s["label_shards_computed"]
    labeled = (
        f"{s['label_sentences']:,} sentences at {s['label_sentences_per_second']:,.0f}/s, "
        f"padding {100 * s['label_padding_waste']:.1f}%"
        if s["label_sentences"]
        else "nothing (every shard reused)"
    )
    _summary(
        "xdner teacher label",
        [
            *_teacher_rows(s),
            ("transfer set", f"{s['transfer_sentences']:,} sentences, {s['transfer_words']:,} words"),
            ("cache", f"{s['cache']} ({shards} shard(s) computed now)"),
            ("labeled now", labeled),
            ("time", f"{s['seconds']:.1f} s"),
        ],
    )
    out_console.print(f"next: xdner distill --out {out}   (reuses this teacher and cache)")


def _teacher_step(then: Callable[[Any, Path], None]) -> Callable[..., None]:
    """One ``xdner teacher`` subcommand: the recipe options every step takes, then ``then(cfg, out)``."""

    def command(
        recipe: RecipeOpt = None,
        langs: LangsOpt = None,
        data: DataOpt = None,
        out: OutOpt = Path("runs/latest"),
        seed: SeedOpt = None,
        set_: SetOpt = None,
    ) -> None:
        then(_run(lambda p: _load(recipe, langs, data, seed, set_)), out)

    return command


teacher_app.command(
    "train",
    help="""Fine-tune the teacher jointly on all chosen languages; saves OUT/teacher (reused by distill).

    The teacher is teacher.model of the recipe (a local directory or Hub name), or teacher.config from scratch.
    An existing OUT/teacher is reused, not trained again. Ends with its dev F1 (teacher.eval_every) and test F1
    per language (kept in OUT/teacher_test_scores.json for distill).

    Examples:
      xdner teacher train --langs de,fr,hi --out runs/three
      xdner teacher train --recipe recipes/mbert-41-gpu.toml --out runs/mbert
    """,
)(_teacher_step(_teacher_trained))
teacher_app.command(
    "label",
    help="""Run the teacher once over the transfer set into OUT/cache (sharded, resumable, fp16).

    Trains the teacher first if OUT/teacher is missing.
    Finished shards whose checksums hold are kept: a killed labeling run resumes.
    Any change of teacher, tokenizer, alignment settings or data rebuilds the cache.

    Examples:
      xdner teacher label --out runs/latest
      xdner teacher label --set teacher.pooling=mean --out runs/mean
    """,
)(_teacher_step(_teacher_labeled))


@app.command()
def evaluate(
    student: Annotated[Path, typer.Argument(help="A student directory (e.g. runs/latest/student).")],
    recipe: RecipeOpt = None,
    langs: Annotated[
        str | None,
        typer.Option(
            help="Codes to score, e.g. 'de,hi' or 'all' (the 41). Default: with --data, every language folder "
            "holding the split; else the recipe's languages."
        ),
    ] = None,
    data: DataOpt = None,
    split: Annotated[str, typer.Option(help="Which split to score: test or dev (no other split is read).")] = "test",
    encoding: Annotated[
        str | None, typer.Option(help="Text encoding of the data files, e.g. latin-1 (overrides recipe).")
    ] = None,
    set_: SetOpt = None,
) -> None:
    """Score a saved student per language (word-level seqeval) on a data folder.

    Only the scored split is read. The recipe's cap (data.max_test_per_lang / max_dev_per_lang) applies and is
    printed; --set data.max_test_per_lang=0 scores every sentence.

    Examples:
      xdner evaluate runs/latest/student
      xdner evaluate runs/latest/student --langs de,hi --split dev
      xdner evaluate runs/nl/student --data conll2002 --encoding latin-1 --set data.max_test_per_lang=0
    """
    from xtremedistil_ner.data.corpus import language_dirs
    from xtremedistil_ner.evaluate import macro_scores
    from xtremedistil_ner.pipeline import evaluate_student

    if split not in ("dev", "test"):
        _fail(f"--split {split!r}: expected test or dev")
    if data is not None and langs is None:
        langs = ",".join(language_dirs(data, split)) or None
        if langs is None:
            _fail(f"{data}: no language folder holds a {split} split (expected DIR/<lang>/{split}.<ext>)")
    cfg = _run(lambda p: _load(recipe, langs, data, None, set_, encoding))
    scores = _run(lambda p: evaluate_student(student, cfg, split))
    cap = getattr(cfg.data, f"max_{split}_per_lang")
    capped = f", first {cap:,} sentences per language (data.max_{split}_per_lang)" if cap else ""
    from rich.table import Table

    table = Table(title=f"student {student} on {split} (seqeval {cfg.eval.mode}{capped})")
    for col in ("lang", "precision", "recall", "f1", "support"):
        table.add_column(col, justify="right")
    for lang, s in scores.items():
        o = s.overall
        table.add_row(lang, f"{100 * o.precision:.2f}", f"{100 * o.recall:.2f}", f"{100 * o.f1:.2f}", str(o.support))
    if len(scores) > 1:
        m = macro_scores(scores)
        table.add_section()
        row = (f"{100 * m.precision:.2f}", f"{100 * m.recall:.2f}", f"{100 * m.f1:.2f}", str(m.support))
        table.add_row(f"macro ({len(scores)})", *row, style="bold")
    out_console.print(table)


class OutputFormat(StrEnum):
    """How ``xdner predict`` writes its results."""

    jsonl = "jsonl"
    conll = "conll"


@app.command()
def predict(
    student: Annotated[Path, typer.Argument(help="A student directory (e.g. runs/latest/student).")],
    input: Annotated[
        str, typer.Argument(help="Text file, one sentence a line (UTF-8); '-' reads stdin.", show_default=True)
    ] = "-",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here (default: stdout).")] = None,
    format: Annotated[OutputFormat, typer.Option(help="jsonl (text + entity spans) or conll (word<TAB>tag).")] = (
        OutputFormat.jsonl
    ),
    batch_size: Annotated[int, typer.Option(min=1, help="Sentences per batch (length-bucketed).")] = 64,
    runtime: Annotated[
        str,
        typer.Option(
            help="auto (ONNX int8 once 'xdner export' has run and onnxruntime is installed, else pytorch), "
            "onnx-int8, onnx or pytorch."
        ),
    ] = "auto",
) -> None:
    """Tag raw text with a trained student: one sentence a line in, entities out.

    Words are split on spaces and punctuation (multilingual); text in a script written without spaces
    (Chinese, Japanese, Thai) must be segmented into words first, as the training data was. JSONL lines carry
    the text and each entity's text, type, character offsets [start, end) and score (mean CRF posterior of its
    tags). The fastest
    runtime the student has is used unless --runtime says otherwise (the summary names it).

    Examples:
      echo "Angela Merkel besuchte Paris ." | xdner predict runs/latest/student
      xdner predict runs/latest/student news.txt --format conll -o news.conll
      xdner export runs/latest/student && xdner predict runs/latest/student news.txt -o news.jsonl  # int8
    """
    import sys

    from xtremedistil_ner.atomic_files import write_text
    from xtremedistil_ner.serve.tag_text import tag_text

    def run(progress: ProgressHook) -> Any:
        if input != "-" and not Path(input).is_file():
            raise XdnerError(f"{input}: no such file (give a text file, or '-' for stdin)")
        data = sys.stdin.buffer.read() if input == "-" else Path(input).read_bytes()
        source = "<stdin>" if input == "-" else input
        return tag_text(student, data, source, format.value, batch_size, runtime, progress)

    tagged = _run(run)
    if output is None:
        sys.stdout.write(tagged.text)
    else:
        write_text(output, tagged.text)
    if output is not None or console.is_terminal:  # stdout may be a pipe: the summary goes to stderr
        types = tagged.entity_types
        found = ", ".join(f"{t} {n:,}" for t, n in sorted(types.items())) or "none"
        rows = [
            ("input", "stdin" if input == "-" else input),
            ("output", str(output or "stdout")),
            ("runtime", tagged.runtime),
            ("sentences", f"{tagged.sentences:,} ({tagged.words:,} words)"),
            ("entities", f"{sum(types.values()):,} ({found})"),
            (
                "time",
                f"{tagged.seconds:.2f} s, {tagged.sentences / max(tagged.seconds, 1e-9):,.0f} sentences/s, "
                f"{tagged.words_per_second:,.0f} words/s (model load included)",
            ),
        ]
        _summary("xdner predict", rows, to=console)


@app.command()
def export(
    student: Annotated[Path, typer.Argument(help="A student directory (e.g. runs/latest/student).")],
    int8: Annotated[bool, typer.Option(help="Also write a dynamic int8 model (model.int8.onnx).")] = True,
    check: Annotated[
        bool, typer.Option(help="Compare PyTorch, ONNX and int8 entity by entity on the recipe's test sets.")
    ] = False,
    recipe: RecipeOpt = None,
    langs: LangsOpt = None,
    data: DataOpt = None,
) -> None:
    """Export a student to ONNX (emissions graph + CRF scores for a NumPy Viterbi) and int8; optionally check it.

    Writes STUDENT/onnx/{model.onnx, model.int8.onnx, crf.json}; with --check also agreement.json.

    Examples:
      xdner export runs/latest/student
      xdner export runs/latest/student --check --langs de,hi,ar
    """
    from rich.table import Table

    from xtremedistil_ner.checkpoint import load_student
    from xtremedistil_ner.serve.onnx_export import export_onnx

    exported = _run(lambda p: export_onnx(load_student(student).model, student / "onnx", int8=int8))
    sizes = [f"{x.name} {x.stat().st_size / 1e6:.1f} MB" for x in (exported.model, exported.int8) if x]
    out_console.print(f"exported: {', '.join(sizes)}, {exported.crf.name} in {exported.model.parent}")
    if not check:
        return
    from xtremedistil_ner.serve.agreement import check_export

    cfg = _run(lambda p: _load(recipe, langs, data, None))
    result = _run(lambda p: check_export(student, cfg))
    table = Table(title=f"{result['sentences']:,} {result['split']} sentences, entities vs PyTorch")
    for col in ("runtime", "entities", "agreement %", "same sentences %", "F1", "F1 change"):
        table.add_column(col, justify="right")
    for name, r in result["overall"].items():
        table.add_row(
            name,
            f"{int(r['entities']):,}",
            f"{100 * r['agreement']:.2f}",
            f"{100 * r['exact_sentences']:.2f}",
            f"{100 * r['f1']:.2f}",
            f"{r['f1_change']:+.2f}",
        )
    out_console.print(table)
    out_console.print(f"per language: {student / 'onnx' / 'agreement.json'}")


@app.command("report")
def report_cmd(
    run: Annotated[Path, typer.Argument(help="A run directory of xdner distill (holds report.json).")],
    paper: Annotated[
        Path | None, typer.Option(help="PAPER_RESULTS.tsv-style file: the paper's per-language F1 beside ours.")
    ] = Path("../shared/data/wikiann/PAPER_RESULTS.tsv"),
    speed: Annotated[Path | None, typer.Option(help="speed.json of xdner bench speed (latency ratios).")] = None,
) -> None:
    """Regenerate RUN/report.html (chart per language, retention, per-type F1, learning curves, recipe).

    One self-contained file: no scripts, nothing fetched from the internet.

    Example:
      xdner report runs/latest --speed runs/bench-speed/speed.json
    """
    from xtremedistil_ner.report import read_report, write_html

    report = _run(lambda p: read_report(run))
    path = _run(lambda p: write_html(run, paper, speed, report=report))
    m = report.macro
    _summary(
        "xdner report",
        [
            ("run", str(run)),
            ("languages", f"{m.languages_scored} scored"),
            ("macro F1", f"teacher {100 * m.teacher_f1:.2f}, student {100 * m.student_f1:.2f}"),
            ("retention", f"{100 * (m.retention or 0):.1f}%"),
            ("paper column", str(paper) if paper and paper.is_file() else "none"),
            ("latency table", str(speed) if speed else "none (give --speed runs/.../speed.json)"),
            ("written", str(path)),
        ],
    )


@bench_app.command("quality")
def bench_quality(
    recipe: RecipeOpt = None,
    langs: LangsOpt = None,
    data: DataOpt = None,
    out: OutOpt = Path("runs/bench-quality"),
    seed: SeedOpt = None,
    only: Annotated[
        str,
        typer.Option(
            help="Comma-separated variant names (default: the ablation). Also: tok=mbert, tok=xlmr, tok=laser50k "
            "(staged+gradual with a student tokenizer of its own)."
        ),
    ] = "",
    assets: Annotated[Path, typer.Option(help="Folder with the tokenizers the tok=... variants use.")] = Path(
        "../shared/assets/tokenizers"
    ),
    paper: Annotated[
        Path | None, typer.Option(help="PAPER_RESULTS.tsv for the paper's columns (default: beside the data).")
    ] = None,
) -> None:
    """Train one teacher, then every ablation variant (gold, hard, hard+soft, staged, staged+gradual, ...).

    Writes OUT/quality.json and OUT/RESULTS.md. Examples (about 65 and 45 min on 2 cores, from scratch; the
    committed ablation is the from-scratch teacher's, recipes/cpu-scratch.toml):
      xdner bench quality --recipe recipes/cpu-scratch.toml --out runs/bench-quality
      xdner bench quality --recipe recipes/cpu-xlmr.toml --only staged+gradual,tok=mbert,tok=laser50k \
          --out runs/bench-xlmr
    """
    from xtremedistil_ner.bench.quality import run_quality

    cfg = _run(lambda p: _load(recipe, langs, data, seed))
    paper = paper or Path(cfg.data.data_dir) / "PAPER_RESULTS.tsv"
    names = tuple(n for n in only.split(",") if n)
    results = _run(lambda p: run_quality(cfg, out, only=names, paper=paper, progress=p, assets=assets))
    out_console.print((out / "RESULTS.md").read_text(encoding="utf-8"))
    out_console.print(f"written: {out / 'RESULTS.md'}, {out / 'quality.json'} ({len(results['variants'])} variants)")


@bench_app.command("lowres")
def bench_lowres(
    recipe: Annotated[str, typer.Option("--recipe", "-r", help="Recipe name or TOML file.")] = "lowres-en-minilm",
    out: OutOpt = Path("runs/bench-lowres"),
    sizes: Annotated[str, typer.Option(help="Gold sizes, comma-separated.")] = "100,1000",
    lang: Annotated[str, typer.Option(help="Language code.")] = "en",
    transfer: Annotated[int, typer.Option(help="Unlabeled train sentences after the gold ones.")] = 10000,
    seed: SeedOpt = None,
) -> None:
    """Low-resource: a real pretrained teacher (MiniLM-L6) on N gold sentences vs its student vs gold alone.

    Example (about 15 min on 2 cores):
      xdner bench lowres --out runs/bench-lowres
    """
    from xtremedistil_ner.bench.lowres import run_lowres

    cfg = _run(lambda p: _load(recipe, None, None, seed))
    gold_sizes = tuple(int(n) for n in sizes.split(",") if n)
    _run(lambda p: run_lowres(cfg, out, gold_sizes, lang, transfer, p))
    out_console.print((out / "LOWRES.md").read_text(encoding="utf-8"))


@bench_app.command("spacy")
def bench_spacy(
    spacy_python: Annotated[
        str,
        typer.Option(
            help="The Python of a separate environment with spaCy (python -m venv E && E/bin/pip install spacy)."
        ),
    ],
    recipe: SingleRecipeOpt = "single",
    langs: LangsOpt = None,
    data: DataOpt = None,
    out: OutOpt = Path("runs/bench-spacy"),
    encoding: Annotated[str | None, typer.Option(help="Text encoding of the data files, e.g. latin-1.")] = None,
    set_: SetOpt = None,
) -> None:
    """SpaCy trained on the same gold (its CPU "efficiency" NER config, its defaults), scored like our students.

    spaCy is not a dependency: give the Python of an environment that has it. Each language's train, dev and
    test (the recipe's caps) go to OUT/<lang>/*.jsonl; spaCy trains there (best on dev); its test predictions are
    scored with the same seqeval as every report. Writes OUT/spacy.json.

    Examples:
      xdner bench spacy --spacy-python ~/spacy-env/bin/python --langs zh --data uner --out runs/spacy-zh
    """
    from xtremedistil_ner.bench.spacy_compare import run_spacy_baseline

    cfg = _run(lambda p: _load(recipe, langs, data, None, set_, encoding))
    summary = _run(lambda p: run_spacy_baseline(cfg, out, spacy_python))
    rows = [
        (
            lang,
            f"F1 {100 * r['scores']['f1']:.2f}, spaCy {r['spacy']}, {r['train_sentences']:,} train "
            f"sentences, {r['seconds']:.0f} s",
        )
        for lang, r in summary["languages"].items()
    ]
    _summary(f"xdner bench spacy ({out}/spacy.json)", rows)


@bench_app.command("sparse")
def bench_sparse(
    recipe: Annotated[str, typer.Option("--recipe", "-r", help="Recipe name or TOML file.")] = "single-hi",
    lang: Annotated[str, typer.Option(help="WikiANN language to make sparse.")] = "da",
    out: OutOpt = Path("runs/bench-sparse"),
    size: Annotated[int, typer.Option(help="Train sentences in all (dev gets a tenth).")] = 4000,
    dense: Annotated[int, typer.Option(help="Of which sentences kept whole, with their entities.")] = 600,
    join: Annotated[int, typer.Option(help="Entity-free fragments joined into each filler sentence.")] = 3,
    raw: Annotated[
        int, typer.Option(help="Unused train sentences of LANG added as unlabeled text (data.raw_text); 0 = none.")
    ] = 0,
    raw_like_folder: Annotated[
        bool, typer.Option(help="Make the --raw lines as sparse as the folder (whole sentences in its share).")
    ] = False,
    seed: SeedOpt = None,
    set_: SetOpt = None,
) -> None:
    """A single-language recipe on an entity-sparse folder (users' data is far sparser than WikiANN).

    Builds OUT/data/LANG from the WikiANN language: DENSE train sentences kept whole, the rest entity-free text
    (sentences with their entity spans cut out, JOIN fragments per line), 2.1% of words inside entities by
    default for Danish (WikiANN: ~34%); dev likewise, test left as it is. With --raw N, N other train sentences
    of LANG, labels dropped, go to OUT/data/LANG/raw.txt and into the transfer set (data.raw_text): the
    student then learns entities from the teacher's labels on text that has them (--raw-like-folder: raw lines
    as sparse as the folder, which helps far less, docs/RESULTS.md). Then distils OUT/data exactly
    as a user's own folder, and writes OUT/sparse.json beside the usual reports. The default recipe (single-hi)
    sets data.entity_floor = 0.5; --set data.entity_floor=0 shows the teacher collapsing to all-O without it.

    Example (about 20 min on 2 cores without bf16):
      xdner bench sparse --lang da --raw 5000 --out runs/bench-sparse
    """
    from xtremedistil_ner.bench.sparse import SparseSpec, run_sparse
    from xtremedistil_ner.report import render_table

    cfg = _run(lambda p: _load(recipe, None, None, seed, set_))
    spec = SparseSpec(lang, size, dense, join, raw, raw_like_folder, cfg.seed)
    report, stats = _run(lambda p: run_sparse(cfg, out, spec, p))
    out_console.print(render_table(report))
    for split, st in stats.items():
        out_console.print(
            f"{split}: {st['sentences']:,} sentences, {st['words']:,} words, "
            f"{100 * st['entity_share']:.1f}% of words inside entities"
        )


@bench_app.command("teacher")
def bench_teacher(
    run: Annotated[Path, typer.Argument(help="Run directory holding a trained teacher (RUN/teacher).")],
    recipe: RecipeOpt = None,
    langs: LangsOpt = None,
    data: DataOpt = None,
    precisions: Annotated[str, typer.Option(help="Comma-separated: float32, bf16, int8.")] = "float32,bf16,int8",
) -> None:
    """Label the test split with the trained teacher in float32, bf16 autocast and dynamic int8.

    Prints sentences/s, word tags equal to float32's and test macro F1 per precision: what a cheaper teacher
    costs in labels for what it saves in time. Writes RUN/teacher_precision.json and RUN/TEACHER_PRECISION.md.

    Example:
      xdner bench teacher runs/latest --precisions float32,bf16
    """
    from xtremedistil_ner.bench.teacher_precision import run_teacher_precision

    cfg = _run(lambda p: _load(recipe, langs, data, None))
    chosen = tuple(x.strip() for x in precisions.split(",") if x.strip())
    _run(lambda p: run_teacher_precision(cfg, run / "teacher", run, chosen, p))
    out_console.print((run / "TEACHER_PRECISION.md").read_text(encoding="utf-8"))


@bench_app.command("memory")
def bench_memory(
    recipe: Annotated[str, typer.Option("--recipe", "-r", help="Recipe name or TOML file.")] = "bench-memory",
    out: OutOpt = Path("runs/bench-memory"),
    scales: Annotated[str, typer.Option(help="Transfer sizes as multiples of --base, comma-separated.")] = "1,10",
    base: Annotated[int, typer.Option(min=1, help="Transfer sentences per language at scale 1.")] = 2000,
) -> None:
    """Peak resident memory of `xdner distill` as the transfer set grows (1x vs 10x by default).

    Trains one teacher, then runs the whole distill command (labeling, student stages, evaluation) in a fresh
    process per transfer size; peak RSS is the kernel's figure for that process. Writes OUT/memory.json and
    OUT/MEMORY.md.

    Example (about 10 min on 2 cores):
      xdner bench memory --out runs/bench-memory
    """
    from xtremedistil_ner.bench.memory import run_memory

    factors = tuple(int(s) for s in scales.split(",") if s)
    _run(lambda p: run_memory(_recipe_path(recipe), out, factors, base))
    out_console.print((out / "MEMORY.md").read_text(encoding="utf-8"))


@bench_app.command("speed")
def bench_speed(
    student: Annotated[Path, typer.Argument(help="A student directory (e.g. runs/latest/student).")],
    teacher: Annotated[
        Path | None, typer.Option(help="Its trained teacher (default: the teacher directory beside the student).")
    ] = None,
    assets: Annotated[
        Path, typer.Option(help="Folder with the mBERT-base / XLM-R-base configs and tokenizers (random weights).")
    ] = Path("../shared/assets/tokenizers"),
    data: Annotated[Path, typer.Option(help="Data folder whose */test.tsv give the texts.")] = Path(
        "../shared/data/wikiann"
    ),
    words: Annotated[int, typer.Option(min=1, help="Words per text.")] = 32,
    batch_size: Annotated[int, typer.Option(min=1, help="Texts per batch.")] = 32,
    repeats: Annotated[int, typer.Option(min=1, help="Timed runs per student figure (median).")] = 30,
    teacher_repeats: Annotated[int, typer.Option(min=1, help="Timed runs per teacher figure (median).")] = 7,
    out: OutOpt = Path("runs/bench-speed"),
) -> None:
    """Params, compression, latency (batch and single text; end to end and model only), words/s, peak memory.

    Student (PyTorch, ONNX, ONNX int8) vs its teacher vs the real mBERT-base and XLM-R-base architectures
    (random weights: latency does not depend on weight values), each in its own process. Writes OUT/speed.json
    and OUT/SPEED.md. The student is exported to STUDENT/onnx first when it has no export yet.

    Example (about 3 min on 2 cores):
      xdner bench speed runs/latest/student
    """
    from xtremedistil_ner.bench.speed import bench_student

    _run(lambda p: bench_student(student, teacher, assets, data, out, words, batch_size, repeats, teacher_repeats, p))
    out_console.print((out / "SPEED.md").read_text(encoding="utf-8"))
    out_console.print(f"written: {out / 'speed.json'}, {out / 'SPEED.md'}")


@app.command()
def languages(
    data: Annotated[Path, typer.Option(help="Data folder; a <lang>/train.* file means the language has data.")] = (
        Path("../shared/data/wikiann")
    ),
) -> None:
    """List the 41 languages of languages.tsv, and which have data in --data.

    Examples:
      xdner languages
      xdner languages --data my_data
    """
    from rich.table import Table

    from xtremedistil_ner.data.readers import find_split
    from xtremedistil_ner.languages import load_languages

    table = Table(title=f"languages.tsv (data: {data})")
    for col in ("code", "name", "script", "family", "wikiann train (k)", "data"):
        table.add_column(col)
    have, known = 0, load_languages()
    for lang in known:
        present = find_split(data, lang.code, "train") is not None
        have += present
        table.add_row(
            lang.code, lang.name, lang.script, lang.family, str(lang.wikiann_train_k), "yes" if present else "-"
        )
    out_console.print(table)
    out_console.print(f"{have} of {len(known)} languages have a train split in {data}")


@data_app.command("check")
def data_check(
    data: Annotated[Path, typer.Option(help="Data folder: DIR/<lang>/{train,dev,test}.<ext>.")] = Path(
        "../shared/data/wikiann"
    ),
    langs: LangsOpt = "all",
    fmt: Annotated[
        str, typer.Option("--format", help="auto (from each file's content), tsv, conll, iob2 or prefix.")
    ] = "auto",
    encoding: EncodingOpt = "utf-8",
    invalid_bio: Annotated[
        str, typer.Option(help="What the run will do with an entity opened by I- (data.invalid_bio): repair or error.")
    ] = "repair",
) -> None:
    """Sentences, words and entities per language, split and type, and every problem found (nothing is trained).

    Every entity type the files hold gets a column (PER, ORG, LOC first; MISC, OTH or any other after).
    Entities opened by I- without B- are counted per file, with what a run does with them (read as B- by
    default). Exit code 1 when something would stop a run (a line no reader accepts, a missing split, or I-
    openings under --invalid-bio error). Examples:
      xdner data check --data ../shared/data/wikiann --langs de,hi,sv
      xdner data check --data conll2002 --langs es,nl --encoding latin-1
    """
    from rich.table import Table

    from xtremedistil_ner.data.check import check_language
    from xtremedistil_ner.data.readers import FORMATS, check_encoding
    from xtremedistil_ner.data.split_names import missing_hint
    from xtremedistil_ner.data.tags import TagVocab
    from xtremedistil_ner.languages import resolve_langs

    if not data.is_dir():
        _fail(f"{data}: no such data folder")
    if fmt not in FORMATS:
        _fail(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    try:
        check_encoding(encoding)
    except ValueError as exc:
        _fail(f"--encoding: {exc}")
    if invalid_bio not in ("repair", "error"):
        _fail(f"--invalid-bio {invalid_bio!r}: expected repair or error")
    codes = _run(lambda p: resolve_langs(langs or "all"))
    results = [check_language(data, code, fmt, encoding, invalid_bio) for code in codes]
    types = TagVocab.from_tags(f"B-{t}" for r in results for t in r.types).types
    table = Table(title=f"data check: {data}")
    for col in ("lang", "train", "dev", "test", "words (train)", *types, "problems"):
        table.add_column(col, justify="left" if col in ("lang", "problems") else "right")
    problems: list[str] = []
    repairs: list[str] = []
    named = (langs or "all") != "all"  # languages asked for by name must have data; "all" takes what is there
    for code, result in zip(codes, results, strict=True):
        if not result.has_data:
            found = result.problems() or ([missing_hint(data / code, "train")] if named else [])
            problems += [f"{code}: {p}" for p in found]
            table.add_row(code, "-", "-", "-", "-", *("-" for _ in types), "no data", style="dim")
            continue
        found = result.problems()
        problems += [f"{code}: {p}" for p in found]
        repairs += [f"{code}: {r}" for r in result.repairs()]
        s = result.splits
        ents = s["train"].entities
        table.add_row(
            code,
            *(f"{s[n].sentences:,}" if s[n].path else "missing" for n in ("train", "dev", "test")),
            f"{s['train'].words:,}",
            *(f"{ents.get(t, 0):,}" for t in types),
            str(len(found)) if found else ("repaired" if result.repairs() else "ok"),
        )
    if types:
        table.caption = f"{', '.join(types)}: entities in the train split"
    out_console.print(table)
    for code, result in zip(codes, results, strict=True):  # files taken under their published names
        named_as = [f"{n} = {s.path.name}" for n, s in result.splits.items() if s.path and s.path.stem != n]
        if named_as and all(s.path is None or s.path.is_file() for s in result.splits.values()):
            out_console.print(f"- {code}: {', '.join(named_as)}", soft_wrap=True, highlight=False)
    for line in problems:
        out_console.print(f"- {escape(line)}", soft_wrap=True, highlight=False)
    for line in repairs:
        out_console.print(f"- repaired as read: {escape(line)}", soft_wrap=True, highlight=False)
    if not any(r.has_data for r in results) and not problems:
        problems.append(f"no language has a train split under {data} (expected {data}/<lang>/train.<ext>)")
        out_console.print(f"- {escape(problems[-1])}", soft_wrap=True, highlight=False)
    out_console.print(f"{len(problems)} problem(s) found" + ("" if problems else ": ready to train"))
    if problems:
        raise typer.Exit(code=1)


@recipe_app.command("list")
def recipe_list() -> None:
    """The recipes bundled with the package: use one by name, e.g. xdner distill --recipe single-hi."""
    from rich.table import Table

    from xtremedistil_ner.recipe_files import list_recipes, recipe_dir

    infos = _run(lambda p: list_recipes())
    table = Table(title=f"bundled recipes ({recipe_dir()})", title_justify="left")
    table.add_column("name", style="bold")
    table.add_column("what it is", overflow="fold")
    for info in infos:
        table.add_row(info.name, info.summary)
    out_console.print(table)
    out_console.print("xdner recipe show NAME prints one with every default filled in.", highlight=False)


@recipe_app.command("show")
def recipe_show(
    recipe: Annotated[str, typer.Argument(help="A bundled recipe's name (xdner recipe list) or a TOML file.")],
    set_: SetOpt = None,
) -> None:
    """Print the resolved recipe: every key with its value, defaults filled in, --set overrides applied.

    Example:
      xdner recipe show recipes/cpu.toml --set distill.batch_size=32
    """
    import json

    cfg = _run(lambda p: _load(recipe, None, None, None, set_))
    out_console.print_json(json.dumps(cfg.to_dict()))


def main() -> None:  # pragma: no cover - python -m entry
    """Entry point for ``python -m xtremedistil_ner``."""
    app(prog_name="xdner")


if __name__ == "__main__":  # pragma: no cover
    main()
