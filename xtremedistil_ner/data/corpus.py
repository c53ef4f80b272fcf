"""A multilingual corpus: per-language train/dev/test and transfer sentences, with the caps of the recipe."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from xtremedistil_ner.config import SPLITS, DataConfig
from xtremedistil_ner.data.augment import mention_swaps
from xtremedistil_ner.data.readers import find_split, read_hf_wikiann, read_labeled, read_transfer_text
from xtremedistil_ner.data.records import Sentence
from xtremedistil_ner.data.split_names import missing_hint
from xtremedistil_ner.data.tags import TagVocab
from xtremedistil_ner.errors import DataError, XdnerError
from xtremedistil_ner.languages import resolve_langs


@dataclass
class LanguageData:
    """The splits of one language (a split may be empty when the recipe does not need it)."""

    train: list[Sentence] = field(default_factory=list)
    dev: list[Sentence] = field(default_factory=list)
    test: list[Sentence] = field(default_factory=list)
    transfer: list[Sentence] = field(default_factory=list)
    full_sizes: dict[str, int] = field(default_factory=dict)
    zero_shot: bool = False
    dev_from_train: bool = False
    unlabeled_from_dir: int | None = None


@dataclass
class Corpus:
    """Languages with data, and the requested languages that have none."""

    languages: dict[str, LanguageData]
    missing: tuple[str, ...]

    def split(self, name: str) -> list[Sentence]:
        """All sentences of one split, languages in order."""
        return [s for data in self.languages.values() for s in getattr(data, name)]

    def teacher_train(self, augment: int = 0) -> list[Sentence]:
        """The teacher's fine-tuning set: the train split, and ``augment`` labeled mention swaps a language.

        The swaps are drawn with their own seed, apart from the unlabeled ones of ``data.augment``.
        """
        made = (mention_swaps(d.train, augment, f"teacher:{lang}", labeled=True) for lang, d in self.languages.items())
        return self.split("train") + [s for part in made for s in part]

    def tags(self) -> TagVocab:
        """The tag set seen in any labeled split (one tag set for the student, whatever each language has)."""
        seen = {t for name in SPLITS for s in self.split(name) for t in (s.tags or ())}
        return TagVocab.from_tags(seen)


def _cap(sentences: list[Sentence], n: int) -> list[Sentence]:
    return sentences[:n] if n else sentences


def entity_floor(sentences: list[Sentence], floor: float) -> list[Sentence]:
    """``sentences`` with those holding an entity repeated until they are at least ``floor`` of the list.

    The repeats follow the originals (training shuffles anyway). Unchanged when ``floor`` is 0, when the share
    is already reached, or when no sentence holds an entity.
    """
    with_entity = [s for s in sentences if s.has_entity]
    without = len(sentences) - len(with_entity)
    if floor <= 0 or not with_entity or len(with_entity) >= floor * len(sentences):
        return sentences
    copies = math.ceil(floor * without / ((1 - floor) * len(with_entity)))  # total copies of each such sentence
    return sentences + with_entity * (copies - 1)


def _read_split(cfg: DataConfig, lang: str, split: str) -> list[Sentence] | None:
    if cfg.format == "hf":  # pragma: no cover - needs the hub
        return read_hf_wikiann(cfg.hf_dataset, lang, split)
    path = find_split(cfg.data_dir, lang, split)
    return None if path is None else read_labeled(path, lang, cfg.format, cfg.invalid_bio, cfg.encoding)


def _read_transfer(cfg: DataConfig, lang: str, data: LanguageData, train_full: list[Sentence]) -> list[Sentence]:
    """The transfer set of ``lang``: ``data.transfer`` (capped), ``data.raw_text``, ``data.unlabeled_dir``, swaps."""
    transfer = _read_transfer_base(cfg, lang, data, train_full)
    if cfg.raw_text:
        transfer = transfer + _read_text_file(cfg, "raw_text", lang)
    if cfg.unlabeled_dir and not _same_folder(cfg.unlabeled_dir, cfg.data_dir):
        path = find_split(cfg.unlabeled_dir, lang, "train")
        extra = [] if path is None else [s.unlabeled() for s in read_labeled(path, lang, "auto", "repair")]
        data.unlabeled_from_dir = None if path is None else len(extra)
        transfer = transfer + extra
    if cfg.augment:
        transfer = transfer + mention_swaps(
            _cap(train_full, cfg.max_train_per_lang),
            cfg.augment,
            lang,
            recombine=cfg.recombine,
            context_swap=cfg.context_swap,
        )
    return transfer


def _same_folder(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` name the same directory (``unlabeled_dir`` = the data folder adds nothing)."""
    return Path(a).resolve() == Path(b).resolve()


def _read_transfer_base(cfg: DataConfig, lang: str, data: LanguageData, train_full: list[Sentence]) -> list[Sentence]:
    if cfg.transfer == "train-rest":  # the unlabeled rest beyond the gold budget
        return [s.unlabeled() for s in _cap(train_full[cfg.max_train_per_lang :], cfg.max_transfer_per_lang)]
    if cfg.transfer in SPLITS:
        source = train_full if cfg.transfer == "train" else getattr(data, cfg.transfer)
        return [s.unlabeled() for s in _cap(source, cfg.max_transfer_per_lang)]
    return _cap(_read_text_file(cfg, "transfer", lang), cfg.max_transfer_per_lang)


def _read_text_file(cfg: DataConfig, key: str, lang: str) -> list[Sentence]:
    """The unlabeled text file named by the path template ``data.<key>`` for ``lang``."""
    template = getattr(cfg, key)
    path = Path(template.format(lang=lang))
    if not path.is_file():
        raise DataError(path, None, f"{key} file for {lang} not found (data.{key} = {template!r})")
    return read_transfer_text(path, lang, cfg.encoding)


def _check_data_dir(cfg: DataConfig) -> None:
    if cfg.format != "hf" and not Path(cfg.data_dir).is_dir():
        raise XdnerError(
            f"data directory {cfg.data_dir} not found (relative paths are read from the working directory, "
            f"here {Path(cfg.data_dir).resolve()}); pass --data DIR, a folder of <lang>/{{train,dev,test}}.<ext>"
        )


def language_dirs(data_dir: str | Path, split: str) -> tuple[str, ...]:
    """The language folders of ``data_dir`` that hold ``split`` (sorted): what a folder offers by itself."""
    root = Path(data_dir)
    if not root.is_dir():
        return ()
    return tuple(sorted(p.name for p in root.iterdir() if p.is_dir() and find_split(root, p.name, split)))


def load_corpus(cfg: DataConfig, langs: tuple[str, ...], need_transfer: bool = True) -> Corpus:
    """Read every requested language; a language without a train split is "missing" (no data), not an error.

    Raises:
        DataError: a bad file, or a language that has train data but lacks dev or test.
        XdnerError: the data directory does not exist, or no language has data.
    """
    zero_shot = set(resolve_langs(cfg.zero_shot_langs)) if cfg.zero_shot_langs else set()
    if zero_shot - set(langs):
        raise XdnerError(f"data.zero_shot_langs {' '.join(sorted(zero_shot - set(langs)))} not among data.langs")
    _check_data_dir(cfg)
    languages: dict[str, LanguageData] = {}
    missing: list[str] = []
    for lang in langs:
        train = _read_split(cfg, lang, "train")
        if train is None:
            missing.append(lang)
            continue
        data = LanguageData()
        for split in ("dev", "test"):
            sentences = _read_split(cfg, lang, split)
            if sentences is None and split == "dev" and cfg.dev_from_train > 0 and len(train) >= 2:
                held = max(1, round(len(train) * cfg.dev_from_train))  # the last sentences: no shuffle, no seed
                train, sentences, data.dev_from_train = train[:-held], train[-held:], True
            if sentences is None:
                hint = " (set data.dev_from_train > 0 to hold out part of train)" if split == "dev" else ""
                raise DataError(Path(cfg.data_dir) / lang, None, f"missing split '{split}' (train is present){hint}")
            data.full_sizes[split] = len(sentences)
            setattr(data, split, _cap(sentences, getattr(cfg, f"max_{split}_per_lang")))
        data.full_sizes["train"] = len(train)
        data.train = entity_floor(_cap(train, cfg.max_train_per_lang), cfg.entity_floor)
        if need_transfer:
            data.transfer = _read_transfer(cfg, lang, data, train)
        if lang in zero_shot:  # raw text only: no label of this language reaches training or selection
            data.train, data.dev, data.zero_shot = [], [], True
        languages[lang] = data
    if not languages:
        hint = f": {missing_hint(Path(cfg.data_dir) / langs[0], 'train')}" if len(langs) == 1 else ""
        raise XdnerError(f"none of {' '.join(langs)} has data under {cfg.data_dir}{hint}")
    if all(data.zero_shot for data in languages.values()):
        raise XdnerError("every language is in data.zero_shot_langs: the teacher needs gold in at least one")
    return Corpus(languages, tuple(missing))


def load_split(cfg: DataConfig, langs: tuple[str, ...], split: str) -> Corpus:
    """Only ``split`` (``dev`` or ``test``) of every requested language, capped as the recipe says.

    What scoring a saved model reads: no other split is opened, so a folder holding only that split (or a
    train file in another encoding) can be scored. A language without the file is "missing".

    Raises:
        DataError: a bad file.
        XdnerError: the data directory does not exist, or no language has the split.
    """
    if split not in ("dev", "test"):
        raise XdnerError(f"split must be dev or test, got {split!r}")
    _check_data_dir(cfg)
    languages: dict[str, LanguageData] = {}
    missing: list[str] = []
    for lang in langs:
        sentences = _read_split(cfg, lang, split)
        if sentences is None:
            missing.append(lang)
            continue
        data = LanguageData(full_sizes={split: len(sentences)})
        setattr(data, split, _cap(sentences, getattr(cfg, f"max_{split}_per_lang")))
        languages[lang] = data
    if not languages:
        hint = f": {missing_hint(Path(cfg.data_dir) / langs[0], split)}" if len(langs) == 1 else ""
        raise XdnerError(f"none of {' '.join(langs)} has a {split} split under {cfg.data_dir}{hint}")
    return Corpus(languages, tuple(missing))


def cap_notes(cfg: DataConfig, corpus: Corpus) -> list[str]:
    """One line per split whose recipe cap cut the data, and one for dev held out of train (printed by a run)."""
    held = [lang for lang, d in corpus.languages.items() if d.dev_from_train]
    notes = (
        [
            f"data: no dev split for {', '.join(held)}: the last {cfg.dev_from_train:.0%} of train held out as dev "
            "(data.dev_from_train; not trained on, checkpoints chosen on it)"
        ]
        if held
        else []
    )
    if cfg.unlabeled_dir and _same_folder(cfg.unlabeled_dir, cfg.data_dir):
        notes.append(f"data: data.unlabeled_dir is the data folder itself ({cfg.unlabeled_dir}): nothing added")
    elif cfg.unlabeled_dir:
        found = {lang: d.unlabeled_from_dir for lang, d in corpus.languages.items() if d.unlabeled_from_dir}
        lacking = [lang for lang, d in corpus.languages.items() if d.unlabeled_from_dir is None and not d.zero_shot]
        if found:
            added = ", ".join(f"{lang} {n:,}" for lang, n in list(found.items())[:4])
            more = f" and {len(found) - 4} more languages" if len(found) > 4 else ""
            notes.append(
                f"data: unlabeled text added to the transfer set from the train split of {cfg.unlabeled_dir} "
                f"(labels dropped; data.unlabeled_dir): {added}{more} sentences"
            )
        if lacking:
            where = "has no train split for" if Path(cfg.unlabeled_dir).is_dir() else "not found: nothing for"
            notes.append(
                f"data: {cfg.unlabeled_dir} {where} {', '.join(lacking)}: no unlabeled text added from it "
                "(data.unlabeled_dir)"
            )
    for split in SPLITS:
        cap = getattr(cfg, f"max_{split}_per_lang")
        cut = {lang: d.full_sizes[split] for lang, d in corpus.languages.items() if d.full_sizes.get(split, 0) > cap}
        if cap and cut:
            shown = [f"{lang} {n:,}" for lang, n in list(cut.items())[:4]]
            sizes = ", ".join(shown) + (f" and {len(cut) - 4} more languages" if len(cut) > 4 else "")
            notes.append(
                f"data: {split} capped at the first {cap:,} sentences per language (data.max_{split}_per_lang; "
                f"the folder has {sizes}); 0 = all"
            )
    if cfg.transfer == "train-rest":
        bare = [
            lang
            for lang, d in corpus.languages.items()
            if not d.zero_shot and d.full_sizes["train"] <= cfg.max_train_per_lang
        ]
        if bare:
            notes.append(
                f"data: {', '.join(bare)}: no transfer sentences of their own (train split no larger than the gold "
                f"budget data.max_train_per_lang = {cfg.max_train_per_lang:,}; data.transfer = 'train-rest'): "
                "they learn from the other languages' transfer text and their gold; data.transfer = 'train' "
                "adds the gold sentences' text to the transfer set"
            )
    return notes
