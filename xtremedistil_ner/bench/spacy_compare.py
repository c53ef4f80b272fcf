"""``xdner bench spacy``: the comparison a user would make, spaCy trained on the same gold, scored by our scorer.

spaCy is not a dependency: it runs in its own Python (``--spacy-python``, a virtual environment with
``pip install spacy``), on ``bench/spacy_train.py``, which imports nothing of ours. This side writes each
language's train (the recipe's gold: caps applied, no entity-floor repeats), dev and test as JSON lines, runs
that script (spaCy's CPU "efficiency" NER config, its default training, best on dev), and scores the test
predictions with the same word-level seqeval as every report.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import time
from pathlib import Path
from typing import Any

from xtremedistil_ner.atomic_files import write_json
from xtremedistil_ner.config import RunConfig
from xtremedistil_ner.data.corpus import load_corpus
from xtremedistil_ner.data.records import Sentence
from xtremedistil_ner.errors import XdnerError
from xtremedistil_ner.evaluate import score
from xtremedistil_ner.languages import resolve_langs

SCRIPT = Path(__file__).with_name("spacy_train.py")


def _write_jsonl(path: Path, sentences: list[Sentence]) -> None:
    lines = [json.dumps({"tokens": list(s.tokens), "tags": list(s.tags or ())}, ensure_ascii=False) for s in sentences]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def run_spacy_baseline(cfg: RunConfig, out: Path, spacy_python: str) -> dict[str, Any]:
    """Train spaCy per language of ``cfg.data`` into ``out/<lang>``; return and write ``out/spacy.json``.

    Raises:
        XdnerError: the spaCy Python cannot run, or spaCy fails (its output names why).
    """
    data_cfg = dataclasses.replace(cfg.data, entity_floor=0.0, augment=0)
    corpus = load_corpus(data_cfg, resolve_langs(cfg.data.langs), need_transfer=False)
    results: dict[str, Any] = {}
    for lang, data in corpus.languages.items():
        work = out / lang
        work.mkdir(parents=True, exist_ok=True)
        for split in ("train", "dev", "test"):
            _write_jsonl(work / f"{split}.jsonl", getattr(data, split))
        start = time.perf_counter()
        try:
            done = subprocess.run(
                [spacy_python, str(SCRIPT), str(work), lang], capture_output=True, text=True, check=False
            )
        except OSError as exc:
            raise XdnerError(f"--spacy-python {spacy_python}: cannot run it ({exc})") from None
        (work / "spacy.log").write_text(done.stdout + done.stderr, encoding="utf-8")
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise XdnerError(f"spaCy failed on {lang} (log: {work / 'spacy.log'}): {tail[0]}")
        info = json.loads(done.stdout.strip().splitlines()[-1])
        pred = [
            json.loads(line)["tags"]
            for line in (work / "test.pred.jsonl").read_text(encoding="utf-8").split("\n")
            if line
        ]
        scores = score([list(s.tags or ()) for s in data.test], pred, cfg.eval.mode)
        results[lang] = {
            **info,
            "seconds": round(time.perf_counter() - start, 1),
            "train_sentences": len(data.train),
            "test_sentences": len(data.test),
            "scores": scores.to_dict(),
        }
    summary = {"data_dir": cfg.data.data_dir, "seqeval_mode": cfg.eval.mode, "languages": results}
    write_json(out / "spacy.json", summary)
    return summary
