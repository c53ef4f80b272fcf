"""Entity-sparse data for the single-language recipe: a user's folder where few tokens are inside entities.

WikiANN sentences are short and dense (a third of Danish train tokens are inside entities); users' own data is
far sparser (Universal NER Swedish: 1.9%). With no such corpus offline, this builds a sparse folder from one
WikiANN language: ``dense`` sentences are kept as they are, the rest of the budget is entity-free text made by
cutting the entity spans out of other sentences and joining ``join`` such fragments into one sentence (all
``O``). Train and dev are made this way; test stays the language's real WikiANN test split, so the F1 is
comparable with the dense runs. The folder is then distilled exactly as a user's folder would be.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xtremedistil_ner.atomic_files import write_json, write_text
from xtremedistil_ner.config import SPLITS, DataConfig, RunConfig
from xtremedistil_ner.data.readers import find_split, read_labeled
from xtremedistil_ner.data.records import Sentence
from xtremedistil_ner.errors import XdnerError
from xtremedistil_ner.progress import Progress
from xtremedistil_ner.results import Report


def entity_free(sentence: Sentence) -> tuple[str, ...]:
    """The words of ``sentence`` outside its entities (in order); empty when it is all entities."""
    assert sentence.tags is not None
    return tuple(w for w, t in zip(sentence.tokens, sentence.tags, strict=True) if t == "O")


@dataclass(frozen=True)
class SparseSpec:
    """How to build the sparse folder of one WikiANN language.

    Attributes:
        lang: the WikiANN language.
        size: train sentences in all (dev gets a tenth of ``size`` and ``dense``).
        dense: train sentences kept whole, with their entities.
        join: entity-free fragments joined into each filler sentence.
        raw: train sentences the folder does not use, written unlabeled to ``<lang>/raw.txt`` and added to the
            transfer set (``data.raw_text``): more text of the language, as a user would add (0 = none).
        raw_like_folder: make those ``raw`` lines as sparse as the folder: the folder's share of whole
            sentences, the rest entity-free fragments, one a line (too few sentences are left to join three).
        seed: the shuffle's seed.
    """

    lang: str = "da"
    size: int = 4000
    dense: int = 600
    join: int = 3
    raw: int = 0
    raw_like_folder: bool = False
    seed: int = 13


def sparsify(
    sentences: Sequence[Sentence], size: int, dense: int, join: int, seed: int
) -> tuple[list[Sentence], list[Sentence]]:
    """``dense`` labeled sentences kept whole plus ``size - dense`` entity-free ones, shuffled; and the rest.

    Each entity-free sentence joins ``join`` fragments of other sentences (their entity spans cut out, fragments
    of fewer than 2 words skipped). The rest: the sentences after the last one cut into a fragment used, not
    kept, in shuffled order (a uniform sample of what is left). Raises XdnerError when ``sentences`` cannot
    fill the budget.
    """
    if not 0 <= dense <= size or join < 1:
        raise XdnerError(f"sparse data: need 0 <= dense ({dense}) <= size ({size}) and join >= 1")
    rng = random.Random(seed)
    order = list(sentences)
    rng.shuffle(order)
    kept = [s for s in order if s.has_entity][:dense]
    taken = {id(s) for s in kept}
    # (position in the shuffled order, fragment) of every sentence that gives one
    sources = [(i, f) for i, s in enumerate(order) if id(s) not in taken and len(f := entity_free(s)) >= 2]
    needed = (size - dense) * join
    if len(kept) < dense or len(sources) < needed:
        raise XdnerError(
            f"sparse data: {len(sentences)} sentences give {len(kept)} with entities and {len(sources)} "
            f"fragments; need {dense} and {needed}"
        )
    lang = sentences[0].lang
    filler = []
    for i in range(size - dense):
        words = tuple(w for _, f in sources[i * join : (i + 1) * join] for w in f)
        filler.append(Sentence(words, ("O",) * len(words), lang))
    mixed = kept + filler
    rng.shuffle(mixed)
    # the rest: past the last fragment used, so a uniform sample (skipped all-entity sentences are not in it)
    cut = sources[needed - 1][0] + 1 if needed else 0
    return mixed, [s for s in order[cut:] if id(s) not in taken]


def entity_share(sentences: Sequence[Sentence]) -> float:
    """Fraction of words inside entities."""
    words = sum(len(s.tokens) for s in sentences)
    inside = sum(t != "O" for s in sentences for t in s.tags or ())
    return inside / words if words else 0.0


def to_tsv(sentences: Sequence[Sentence]) -> str:
    """The WikiANN layout the readers take: ``words<TAB>tags`` per line."""
    return "".join(f"{' '.join(s.tokens)}\t{' '.join(s.tags or ())}\n" for s in sentences)


def write_sparse_folder(data_dir: Path, spec: SparseSpec, out: Path) -> dict[str, Any]:
    """Write ``out/<lang>/{train,dev,test}.tsv`` (train and dev sparsified, test as is) and ``raw.txt``.

    ``raw.txt`` (only with ``spec.raw``): unused train sentences, one a line, labels dropped. Returns each
    file's statistics (the raw text's entity share from the labels it was written without).
    """
    stats: dict[str, Any] = {}
    lang = spec.lang
    raw: list[Sentence] = []
    for split in SPLITS:
        path = find_split(data_dir, lang, split)
        if path is None:
            raise XdnerError(f"{data_dir}/{lang}: no {split} split")
        sentences = read_labeled(path, lang)
        if split == "train":
            sentences, rest = sparsify(sentences, spec.size, spec.dense, spec.join, spec.seed)
            if spec.raw_like_folder:
                raw, _ = sparsify(rest, spec.raw, spec.raw * spec.dense // spec.size, 1, spec.seed)
            elif len(rest) < spec.raw:
                raise XdnerError(f"sparse data: {len(rest)} {lang} train sentences left for --raw {spec.raw}")
            else:
                raw = rest[: spec.raw]
        elif split == "dev":
            sentences, _ = sparsify(sentences, spec.size // 10, spec.dense // 10, spec.join, spec.seed)
        write_text(out / lang / f"{split}.tsv", to_tsv(sentences))
        stats[split] = _stats(sentences)
    if raw:
        write_text(out / lang / "raw.txt", "".join(" ".join(s.tokens) + "\n" for s in raw))
        stats["raw"] = _stats(raw)
    return stats


def _stats(sentences: Sequence[Sentence]) -> dict[str, Any]:
    return {
        "sentences": len(sentences),
        "words": sum(len(s.tokens) for s in sentences),
        "entity_share": round(entity_share(sentences), 4),
    }


def sparse_data_config(data: DataConfig, out: Path, spec: SparseSpec) -> DataConfig:
    """``data`` pointed at the sparse folder ``out/data``: its language, its ``raw.txt`` with ``spec.raw``.

    ``unlabeled_dir`` is switched off: the folder is cut from WikiANN, whose own train text would stand in
    for the ``--raw`` lines the benchmark measures.
    """
    raw_text = str(out / "data" / "{lang}" / "raw.txt") if spec.raw else data.raw_text
    return dataclasses.replace(data, data_dir=str(out / "data"), langs=spec.lang, raw_text=raw_text, unlabeled_dir="")


def run_sparse(
    cfg: RunConfig, out: Path, spec: SparseSpec, progress: Progress | None = None
) -> tuple[Report, dict[str, Any]]:
    """Build the sparse folder under ``out/data``, distil it with ``cfg`` as a user's own folder.

    With ``spec.raw``, the folder's ``raw.txt`` becomes ``data.raw_text`` (added to the transfer set).
    Returns the run's report and the folder's statistics per split (also written as ``out/sparse.json``).
    """
    from xtremedistil_ner.pipeline import run_distill

    stats = write_sparse_folder(Path(cfg.data.data_dir), spec, out / "data")
    data = sparse_data_config(cfg.data, out, spec)
    report = run_distill(dataclasses.replace(cfg, data=data), out, progress)
    write_json(out / "sparse.json", {**dataclasses.asdict(spec), "splits": stats})
    return report, stats
