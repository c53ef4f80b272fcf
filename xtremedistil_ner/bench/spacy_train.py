"""Train and apply a spaCy NER pipeline on JSON lines; run by ``xdner bench spacy`` in spaCy's own environment.

Imports nothing from xtremedistil_ner (spaCy is not a dependency: it lives in a separate virtual environment).
Usage: ``SPACY_PYTHON spacy_train.py WORK_DIR LANG`` where ``WORK_DIR`` holds ``{train,dev,test}.jsonl`` lines
``{"tokens": [...], "tags": [...]}`` (IOB2). Writes ``WORK_DIR/config.cfg`` (spaCy's own CPU "efficiency" NER
config, unchanged), trains into ``WORK_DIR/model`` with spaCy's defaults (best on dev), and writes
``WORK_DIR/test.pred.jsonl``: the predicted IOB2 tags of each test sentence, on the same words.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path


def _docs(nlp, path: Path):  # type: ignore[no-untyped-def]
    from spacy.tokens import Doc

    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        yield Doc(nlp.vocab, words=row["tokens"], ents=list(row["tags"]))


def _blank(lang: str):  # type: ignore[no-untyped-def]
    import spacy

    try:
        return spacy.blank(lang), lang
    except Exception:  # a language spaCy does not know: its multi-language class
        return spacy.blank("xx"), "xx"


def main(work: Path, lang: str) -> None:
    """Convert, train, predict; print one JSON line with the timings."""
    from spacy.tokens import Doc, DocBin

    nlp, lang = _blank(lang)
    for split in ("train", "dev"):
        DocBin(docs=list(_docs(nlp, work / f"{split}.jsonl"))).to_disk(work / f"{split}.spacy")
    spacy = [sys.executable, "-m", "spacy"]
    config = work / "config.cfg"
    subprocess.run([*spacy, "init", "config", str(config), "--lang", lang, "--pipeline", "ner",
                    "--optimize", "efficiency", "--force"], check=True)  # fmt: skip
    start = time.perf_counter()
    subprocess.run([*spacy, "train", str(config), "--output", str(work / "model"), "--paths.train",
                    str(work / "train.spacy"), "--paths.dev", str(work / "dev.spacy")], check=True)  # fmt: skip
    train_seconds = time.perf_counter() - start
    import spacy as spacy_lib

    best = spacy_lib.load(work / "model" / "model-best")
    start = time.perf_counter()
    lines = []
    for line in (work / "test.jsonl").read_text(encoding="utf-8").splitlines():
        doc = best(Doc(best.vocab, words=json.loads(line)["tokens"]))
        tags = [t.ent_iob_ + "-" + t.ent_type_ if t.ent_iob_ in ("B", "I") else "O" for t in doc]
        lines.append(json.dumps({"tags": tags}))
    (work / "test.pred.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(json.dumps({"spacy": spacy_lib.__version__, "lang": lang, "train_seconds": round(train_seconds, 1),
                      "predict_seconds": round(time.perf_counter() - start, 2)}))  # fmt: skip


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
