"""The memory benchmark: peak resident memory of ``xdner distill`` as the transfer set grows.

One teacher is trained (or reused) first; then, for each transfer size, the whole ``xdner distill`` command
(teacher labeling, every student stage, evaluation, reports) runs in a fresh process on a copy of that teacher.
Peak RSS is the kernel's figure for that process (``wait4``'s ``ru_maxrss``): everything it ever held resident.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from xtremedistil_ner.bench import write_figures
from xtremedistil_ner.errors import XdnerError
from xtremedistil_ner.report import read_report


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "xtremedistil_ner", *args]


def run_measured(cmd: Sequence[str], log: Path) -> dict[str, float]:
    """Run ``cmd`` to completion with its output in ``log``; its wall time and peak RSS (MiB).

    Raises:
        XdnerError: the command failed (the log says why).
    """
    start = time.perf_counter()
    with log.open("wb") as handle:
        proc = subprocess.Popen(list(cmd), stdout=handle, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise XdnerError(f"{' '.join(cmd)} failed with exit code {proc.returncode} (see {log})")
    return {"seconds": round(time.perf_counter() - start, 1), "peak_rss_mib": round(usage.ru_maxrss / 1024, 1)}


def _dir_mib(path: Path) -> float:
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20, 1)


def run_memory(recipe: Path, out: Path, scales: Sequence[int], base: int) -> dict[str, Any]:
    """Peak RSS of ``xdner distill`` with ``base * s`` transfer sentences per language for each ``s`` in ``scales``.

    Writes ``OUT/memory.json`` and ``OUT/MEMORY.md``; each run's directory and log stay in ``OUT/x<s>``.
    """
    out.mkdir(parents=True, exist_ok=True)
    teacher_run = out / "teacher-run"
    recipe_args = ["--recipe", str(recipe)]
    teacher = run_measured(
        _command("teacher", "train", *recipe_args, "--out", str(teacher_run)), out / "teacher-train.log"
    )
    rows = []
    for scale in scales:
        run_dir = out / f"x{scale}"
        if run_dir.exists():
            shutil.rmtree(run_dir)
        shutil.copytree(teacher_run / "teacher", run_dir / "teacher")
        cmd = _command(
            "distill", *recipe_args, "--out", str(run_dir), "--set", f"data.max_transfer_per_lang={base * scale}"
        )
        measured = run_measured(cmd, out / f"x{scale}.log")
        report = read_report(run_dir)
        transfer = sum(lang.sentences.transfer for lang in report.languages.values() if lang.sentences)
        rows.append(
            {
                "scale": scale,
                "transfer_sentences": transfer,
                "cache_mib": _dir_mib(run_dir / "cache"),
                "student_f1": report.macro.student_f1,
                **measured,
            }
        )
    first = rows[0]["peak_rss_mib"]
    for row in rows:
        row["rss_vs_first"] = round(row["peak_rss_mib"] / first, 3)
    result = {"recipe": str(recipe), "base_per_lang": base, "teacher_train": teacher, "runs": rows}
    write_figures(out, "memory", result, to_markdown)
    return result


def to_markdown(result: dict[str, Any]) -> str:
    """The table of :func:`run_memory`."""
    lines = [
        f"Peak RSS of `xdner distill` (labeling + student + evaluation), recipe `{result['recipe']}`, teacher "
        f"trained once beforehand (that step: {result['teacher_train']['peak_rss_mib']:,.0f} MiB peak).",
        "",
        "| transfer size | transfer sentences | cache on disk (MiB) | peak RSS (MiB) | vs 1st | time (s) "
        "| student F1 |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in result["runs"]:
        lines.append(
            f"| {r['scale']}x | {r['transfer_sentences']:,} | {r['cache_mib']:,.0f} | {r['peak_rss_mib']:,.0f} | "
            f"{r['rss_vs_first']:.2f} | {r['seconds']:.0f} | {100 * r['student_f1']:.2f} |"
        )
    return "\n".join(lines) + "\n"
