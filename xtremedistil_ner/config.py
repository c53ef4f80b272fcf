"""Frozen run configuration and the TOML recipe loader.

A recipe's sections mirror the dataclasses: ``[run]``, ``[data]``, ``[teacher]``, ``[student]``, ``[distill]``
(with ``[[distill.stages]]``) and ``[eval]``. Unknown keys and wrong types are errors naming the recipe file.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from xtremedistil_ner.errors import RecipeError

Objective = Literal["hidden", "soft", "hard", "gold"]


@dataclass(frozen=True)
class DataConfig:
    """Where the labeled and transfer data come from and how much of it a run uses."""

    data_dir: str = "../shared/data/wikiann"
    langs: str = "all"
    format: Literal["auto", "tsv", "conll", "prefix", "hf"] = "auto"
    hf_dataset: str = "wikiann"
    transfer: str = "train"
    max_train_per_lang: int = 0
    max_transfer_per_lang: int = 0
    max_dev_per_lang: int = 0
    max_test_per_lang: int = 0
    invalid_bio: Literal["error", "repair"] = "repair"

    def __post_init__(self) -> None:
        for name in ("max_train_per_lang", "max_transfer_per_lang", "max_dev_per_lang", "max_test_per_lang"):
            if getattr(self, name) < 0:
                raise ValueError(f"data.{name} must be >= 0 (0 = no cap)")


@dataclass(frozen=True)
class TeacherConfig:
    """The teacher: a pretrained HF token classifier (``model``) or one built from a config (``config``)."""

    model: str = ""
    config: str = "../shared/assets/tokenizers/bert-base-multilingual-cased"
    tokenizer: str = ""
    num_hidden_layers: int = 0
    hidden_size: int = 0
    num_attention_heads: int = 0
    intermediate_size: int = 0
    max_length: int = 128
    epochs: float = 1.0
    lr: float = 5e-5
    warmup: float = 0.1
    weight_decay: float = 0.01
    batch_size: int = 32
    hidden_layer: int = -1
    pooling: Literal["first", "mean", "max"] = "first"
    label_batch_tokens: int = 8192
    finetune: bool = True
    trust_remote_code: bool = False

    def __post_init__(self) -> None:
        if self.max_length < 8:
            raise ValueError("teacher.max_length must be >= 8")
        if self.epochs <= 0 or self.lr <= 0 or self.batch_size <= 0:
            raise ValueError("teacher.epochs, teacher.lr and teacher.batch_size must be > 0")


@dataclass(frozen=True)
class StudentConfig:
    """The shared student: subword-pooled embeddings -> BiLSTM -> CRF over words."""

    embedding_dim: int = 50
    hidden_size: int = 200
    num_layers: int = 2
    dropout: float = 0.2
    max_vocab: int = 60000
    svd_init: bool = True
    freeze_embeddings: bool = False
    bio_constraints: bool = True

    def __post_init__(self) -> None:
        if min(self.embedding_dim, self.hidden_size, self.num_layers, self.max_vocab) <= 0:
            raise ValueError("student sizes must be > 0")
        if not 0 <= self.dropout < 1:
            raise ValueError("student.dropout must be in [0, 1)")


@dataclass(frozen=True)
class StageConfig:
    """One declared stage; ``unfreeze = "gradual"`` expands into top-down sub-stages."""

    objective: Objective
    epochs: float = 1.0
    unfreeze: Literal["all", "gradual"] = "all"
    lr: float = 0.0

    def __post_init__(self) -> None:
        if self.epochs <= 0:
            raise ValueError("stage epochs must be > 0")


def _default_stages() -> tuple[StageConfig, ...]:
    return (StageConfig("hidden"), StageConfig("soft", unfreeze="gradual"), StageConfig("hard", unfreeze="gradual"))


@dataclass(frozen=True)
class DistillConfig:
    """What is distilled and how the student trains."""

    stages: tuple[StageConfig, ...] = field(default_factory=_default_stages)
    soft_loss: Literal["mse", "kl"] = "mse"
    temperature: float = 1.0
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.0
    grad_clip: float = 5.0
    evals_per_stage: int = 2

    def __post_init__(self) -> None:
        if not self.stages:
            raise ValueError("distill.stages must not be empty")
        if self.temperature <= 0:
            raise ValueError("distill.temperature must be > 0")


@dataclass(frozen=True)
class EvalConfig:
    """Scoring: seqeval's conlleval-compatible mode (default) or strict IOB2."""

    mode: Literal["conlleval", "strict"] = "conlleval"
    batch_size: int = 256


@dataclass(frozen=True)
class RunConfig:
    """Everything a run needs; saved as ``config.json`` in the run directory."""

    name: str = "run"
    seed: int = 13
    cpu: bool = False
    mixed_precision: Literal["no", "fp16", "bf16"] = "no"
    data: DataConfig = field(default_factory=DataConfig)
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    student: StudentConfig = field(default_factory=StudentConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (JSON-safe)."""
        return dataclasses.asdict(self)


_SECTIONS = {"data": DataConfig, "teacher": TeacherConfig, "student": StudentConfig, "eval": EvalConfig}


def _check_type(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin is Literal:
        if value not in typing.get_args(hint):
            raise RecipeError(f"{where}: {value!r} is not one of {', '.join(map(repr, typing.get_args(hint)))}")
        return value
    if origin in (types.UnionType, typing.Union):
        return value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float, str, bool) and (type(value) is not hint):
        raise RecipeError(f"{where}: expected {hint.__name__}, got {type(value).__name__} {value!r}")
    return value


def _build(cls: type, raw: dict[str, Any], where: str) -> Any:
    if not isinstance(raw, dict):
        raise RecipeError(f"{where}: expected a table, got {type(raw).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - names)
    if unknown:
        raise RecipeError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(names))}")
    kwargs = {k: _check_type(v, hints[k], f"{where}.{k}") for k, v in raw.items()}
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as exc:
        raise RecipeError(f"{where}: {exc}") from None


def config_from_dict(raw: dict[str, Any], source: str = "<recipe>") -> RunConfig:
    """Build a validated :class:`RunConfig` from a nested dict (the parsed TOML)."""
    raw = dict(raw)
    allowed = {"run", "distill", *_SECTIONS}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise RecipeError(f"{source}: unknown section(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    kwargs: dict[str, Any] = {}
    run = raw.get("run", {})
    top = _build(RunConfig, {k: v for k, v in run.items()}, f"{source} [run]") if run else RunConfig()
    for key, cls in _SECTIONS.items():
        if key in raw:
            kwargs[key] = _build(cls, raw[key], f"{source} [{key}]")
    if "distill" in raw:
        distill = dict(raw["distill"])
        stages = distill.pop("stages", None)
        if stages is not None:
            if not isinstance(stages, list) or not stages:
                raise RecipeError(f"{source} [distill]: stages must be a non-empty array of tables")
            distill["stages"] = tuple(
                _build(StageConfig, s, f"{source} [[distill.stages]] #{i + 1}") for i, s in enumerate(stages)
            )
        kwargs["distill"] = _build(DistillConfig, distill, f"{source} [distill]")
    return dataclasses.replace(top, **kwargs)


def load_recipe(path: str | Path, **overrides: Any) -> RunConfig:
    """Read a TOML recipe; ``overrides`` are ``section.key`` -> value (``None`` values are ignored).

    Relative paths in ``[data]``/``[teacher]`` stay as written: they are resolved against the working directory.

    Raises:
        RecipeError: unreadable TOML, unknown keys, wrong types or bad values.
    """
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecipeError(f"{path}: recipe file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RecipeError(f"{path}: not valid TOML ({exc})") from None
    for dotted, value in overrides.items():
        if value is None:
            continue
        section, _, key = dotted.partition(".")
        if key:
            raw.setdefault(section, {})[key] = value
        else:
            raw.setdefault("run", {})[section] = value
    return config_from_dict(raw, str(path))
