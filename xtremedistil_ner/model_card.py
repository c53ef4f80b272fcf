"""The student directory's ``README.md`` (a Hugging Face model card) and the way to publish the directory.

The card is generated from the run's report: languages, data, teacher, per-language F1 (teacher, student,
retention), size and compression, how it was trained, how to load it. ``push_student`` uploads the directory
to the Hugging Face Hub (needs internet and a token; not exercised offline).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xtremedistil_ner.atomic_files import write_text
from xtremedistil_ner.config import SPLITS
from xtremedistil_ner.evaluate import LanguageScores
from xtremedistil_ner.report import entity_types_line
from xtremedistil_ner.results import Report
from xtremedistil_ner.wording import plural


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def _f1(scores: LanguageScores | None) -> float | None:
    return scores.overall.f1 if scores else None


def _transfer_text(data: dict[str, Any]) -> str:
    """Where the unlabeled text the student learned from came from (``transfer``, ``raw_text``, ``unlabeled_dir``)."""
    transfer = data.get("transfer", "train")
    if transfer == "train-rest":
        text = "the train sentences after the gold budget, labels dropped"
    elif transfer in SPLITS:
        text = f"the {transfer} split, labels dropped"
    else:
        text = f"`{transfer}`"
    if data.get("raw_text"):
        text += f", and `{data['raw_text']}`"
    if data.get("unlabeled_dir"):
        text += f", and the train split of `{data['unlabeled_dir']}` (labels dropped), where it has the language"
    if data.get("augment"):
        text += f", and {data['augment']:,} gold sentences a language with their mentions swapped"
    return text


def model_card(report: Report, recipe: dict[str, Any]) -> str:
    """Markdown with YAML front matter (``language``, ``tags``, ``metrics``) for ``STUDENT/README.md``."""
    ok = report.scored()
    m, p = report.macro, report.params
    teacher = recipe.get("teacher", {})
    info = report.teacher
    if info is not None:
        source = f"`{info.model}` ({info.origin})"
    else:
        source = teacher.get("model") or f"built from {teacher.get('config', '?')} (random init, fine-tuned here)"
    data = recipe.get("data", {})
    types = entity_types_line(report) if report.entity_types else "PER, ORG, LOC"
    lines = [
        "---",
        "language:",
        *[f"- {code}" for code in sorted(ok)],
        "library_name: xtremedistil_ner",
        "pipeline_tag: token-classification",
        "tags: [ner, distillation, bilstm-crf, multilingual]",
        "metrics: [seqeval]",
        "---",
        "",
        f"# xtremedistil_ner student: {report.name}",
        "",
        f"A BiLSTM-CRF named-entity tagger for {plural(len(ok), 'language')} ({types}; IOB2), distilled from a "
        f"multilingual transformer teacher with xtremedistil_ner. **{p.student:,} "
        f"parameters**: {p.student_compression_vs_mbert_base:.1f}x fewer than mBERT-base, "
        f"{p.student_compression_vs_teacher:.1f}x fewer than its teacher.",
        "",
        "## Use",
        "",
        "```python",
        "from xtremedistil_ner import load_tagger",
        "",
        'tagger = load_tagger("path/to/this/directory")  # ONNX int8 once `xdner export DIR` has run, else PyTorch',
        'for p in tagger.predict(["Angela Merkel besuchte Paris ."]):',
        "    print([(e.text, e.type, e.score) for e in p.entities])",
        "```",
        "",
        "Or from the shell: `xdner predict DIR input.txt` (one sentence a line, JSONL out). Serving without",
        "PyTorch (numpy, tokenizers, onnxruntime): `xtremedistil_ner.runtime.onnx.load_onnx_tagger(DIR)`.",
        "",
        "## Training",
        "",
        f"- Teacher: {source}; tokenizer shared with the student unless stated in the recipe.",
        f"- Data: `{data.get('data_dir', '?')}` (format {data.get('format', 'auto')}), caps per language: train "
        f"{data.get('max_train_per_lang', 0) or 'all'}, transfer {data.get('max_transfer_per_lang', 0) or 'all'}, "
        f"dev {data.get('max_dev_per_lang', 0) or 'all'}, test {data.get('max_test_per_lang', 0) or 'all'}.",
        f"- Unlabeled transfer text, labeled by the teacher: {_transfer_text(data)}.",
        f"- Stages: {', '.join(s.name for s in report.stages)}; each keeps its best dev checkpoint.",
        f"- Seed {report.seed}; the full recipe is `recipe.json` beside this card.",
        "",
        f"## Results (test, word-level seqeval {report.eval.mode}, F1 %)",
        "",
        f"Macro over {plural(m.languages_scored, 'language')}: teacher {_pct(m.teacher_f1)}, student "
        f"{_pct(m.student_f1)}, retention {_pct(m.retention)}%."
        + (
            f" A student of the same size trained on the same gold labels alone: {_pct(m.gold_only_f1)}."
            if m.gold_only_f1 is not None
            else ""
        ),
        "",
        "| language | teacher | student | retention % | gold-only student | entities |",
        "|---|---|---|---|---|---|",
    ]
    for code in sorted(ok):
        v = ok[code]
        name = code + (" (zero-shot)" if v.zero_shot else "")
        support = v.student.overall.support if v.student else 0
        lines.append(
            f"| {name} | {_pct(_f1(v.teacher))} | {_pct(_f1(v.student))} | {_pct(v.retention)} | "
            f"{_pct(_f1(v.gold_only))} | {support} |"
        )
    lines += [
        "",
        "## Files",
        "",
        "`config.json` (sizes), `model.safetensors` (weights), `tags.json` (label map), `vocab.json` (the "
        "student's pieces), `tokenizer/` (Hugging Face fast tokenizer), `recipe.json`.",
    ]
    return "\n".join(lines) + "\n"


def write_model_card(student_dir: Path, report: Report, recipe: dict[str, Any]) -> None:
    """Write ``README.md`` and ``recipe.json`` into a saved student directory."""
    import json

    write_text(student_dir / "README.md", model_card(report, recipe))
    write_text(student_dir / "recipe.json", json.dumps(recipe, indent=2, ensure_ascii=False) + "\n")


def push_student(student_dir: Path, repo_id: str, private: bool = True, token: str | None = None) -> str:
    """Upload a student directory to the Hugging Face Hub (creates ``repo_id`` if needed); return its URL.

    Needs internet and a token (``huggingface-cli login`` or ``token``).
    """
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(repo_id, private=private, exist_ok=True)
    api.upload_folder(folder_path=str(student_dir), repo_id=repo_id, commit_message="xtremedistil_ner student")
    return f"https://huggingface.co/{repo_id}"
