"""A regular (non-editable) install: the wheel carries the recipes and languages.tsv, and the main commands run
from an unrelated directory with the recipe named, not located."""

import json
import os
import subprocess
import sys

from .conftest import MBERT, ROOT, SHARED, need_shared


def _run(args: list[str], cwd, env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "xtremedistil_ner", *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_wheel_runs_recipes_by_name_from_another_directory(tmp_path):
    need_shared()
    wheels, target, elsewhere = tmp_path / "wheels", tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(wheels)]
    subprocess.run([*build, str(ROOT)], check=True, capture_output=True)
    (wheel,) = wheels.glob("xtremedistil_ner-*.whl")
    install = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)]
    subprocess.run(install, check=True, capture_output=True)
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "TRANSFORMERS_VERBOSITY")}
    env["PYTHONPATH"] = str(target)  # the wheel's package, not the checkout

    where = subprocess.run(
        [sys.executable, "-c", "import xtremedistil_ner; print(xtremedistil_ner.__file__)"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(target))
    listed = _run(["recipe", "list"], elsewhere, env)
    assert listed.returncode == 0, listed.stderr
    assert str(target) in listed.stdout and "cpu " in listed.stdout and "smoke " in listed.stdout

    out = elsewhere / "run"
    tiny = ["--recipe", "smoke", "--data", str(SHARED / "data" / "wikiann"), "--langs", "de", "--out", str(out)]
    missing = _run(["distill", *tiny], elsewhere, env)  # the recipe's ../shared tokenizer is not beside this dir
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert "teacher.config '../shared/assets/tokenizers/bert-base-multilingual-cased' not found" in missing.stderr
    done = _run(["distill", *tiny, "--set", f"teacher.config={MBERT}"], elsewhere, env)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((out / "report.json").read_text())
    assert report["name"] == "smoke" and report["languages"]["de"]["status"] == "ok"
    # a log, not a terminal: the closing table at full width, our progress as plain lines, no third-party bars
    header = next(line for line in done.stdout.splitlines() if "teacher_f1" in line)
    assert all(name in header for name in ("student_f1", "retention", "gold_only_f1", "gain_over_gold"))
    assert "…" not in done.stdout
    assert "gold-only student: gold/all: 0/" in done.stderr  # the baseline is named in its progress lines
    for noise in ("Loading weights", "Writing model shards", "MISSING", "it/s]"):
        assert noise not in done.stderr
