from pathlib import Path

import pytest

from xtremedistil_ner.config import load_recipe
from xtremedistil_ner.errors import RecipeError

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "recipes").glob("*.toml")))
def test_every_shipped_recipe_loads(name):
    cfg = load_recipe(ROOT / "recipes" / name)
    assert cfg.distill.stages


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[data]\nmax_trian_per_lang = 3\n", "unknown key"),
        ("[student]\nembedding_dim = 'fifty'\n", "expected int"),
        ("[distill]\nsoft_loss = 'l1'\n", "is not one of"),
        ("[bogus]\nx = 1\n", "unknown section"),
        ("[student]\ndropout = 1.5\n", "dropout"),
        ("[data\n", "not valid TOML"),
        ('[[distill.stages]]\nobjective = "soft"\nsoft_mix = 1.0\n', "gold stages only"),
        ('[[distill.stages]]\nobjective = "gold"\nsoft_mix = -1.0\n', ">= 0"),
        ('[[distill.stages]]\nobjective = "gold"\npatience = -1\n', "patience must be >= 0"),
        ("[eval]\ngold_baseline_patience = -2\n", "gold_baseline_patience must be >= 0"),
        ("[eval]\ngold_baseline_batch_size = -1\n", "gold_baseline_batch_size must be >= 0"),
        ("[distill]\nema = 1.0\n", "distill.ema must be in [0, 1)"),
    ],
)
def test_bad_recipes_name_the_file_and_problem(tmp_path, text, message):
    path = tmp_path / "r.toml"
    path.write_text(text)
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    assert message in str(info.value) and str(path) in str(info.value)


def test_overrides_and_int_to_float(tmp_path):
    path = tmp_path / "r.toml"
    path.write_text("[teacher]\nlr = 1\n[[distill.stages]]\nobjective = 'hard'\nepochs = 2\n")
    cfg = load_recipe(path, **{"data.langs": "de", "seed": 5, "data.data_dir": None})
    assert cfg.teacher.lr == 1.0 and cfg.seed == 5 and cfg.data.langs == "de"
    assert [s.objective for s in cfg.distill.stages] == ["hard"]


def test_cpu_mixed_precision_is_bf16_or_nothing():
    from accelerate.state import AcceleratorState

    from xtremedistil_ner.config import RunConfig
    from xtremedistil_ner.pipeline import make_accelerator

    try:
        for asked, got in (("bf16", "bf16"), ("fp16", "no")):
            AcceleratorState._reset_state(True)  # one Accelerator per process, as in a real run
            assert make_accelerator(RunConfig(cpu=True, mixed_precision=asked)).mixed_precision == got
    finally:
        AcceleratorState._reset_state(True)


def test_recipe_reference_is_complete_and_committed():
    from pathlib import Path

    from xtremedistil_ner.recipe_doc import recipe_reference

    text = recipe_reference()
    assert "|  |" not in text  # every key has a meaning
    committed = Path(__file__).resolve().parent.parent / "docs" / "RECIPES.md"
    assert committed.read_text(encoding="utf-8") == text, "regenerate: python -m xtremedistil_ner.recipe_doc"


class _Section:
    """A section.

    Attributes:
        first, second: one meaning for two keys, going on over a line that
            looks like one: a key it is not.
        third: short.
    """


def test_a_continuation_line_that_reads_like_a_key_stays_in_its_keys_meaning():
    from xtremedistil_ner.recipe_doc import _meanings

    meaning = "one meaning for two keys, going on over a line that looks like one: a key it is not."
    assert _meanings(_Section) == {"first": meaning, "second": meaning, "third": "short."}


def test_flat_memory_opt_out_skips_the_heap_pin(tmp_path, monkeypatch):
    """`[run] flat_memory = false` leaves glibc's malloc alone (a recipe key, type-checked like the others)."""
    from accelerate.state import AcceleratorState

    from xtremedistil_ner import pipeline
    from xtremedistil_ner.config import RunConfig

    pinned: list[bool] = []
    monkeypatch.setattr(pipeline, "pin_mmap_threshold", lambda: pinned.append(True))  # mallopt has no getter
    try:
        for flat in (True, False):
            AcceleratorState._reset_state(True)
            pipeline.start_run(RunConfig(cpu=True, flat_memory=flat), tmp_path / str(flat))
    finally:
        AcceleratorState._reset_state(True)
    assert pinned == [True]
    recipe = tmp_path / "r.toml"
    recipe.write_text("[run]\nflat_memory = false\n")
    assert load_recipe(recipe).flat_memory is False
    recipe.write_text("[run]\nflat_memory = 'no'\n")
    with pytest.raises(RecipeError, match="flat_memory: expected bool"):
        load_recipe(recipe)


def test_overrides_on_a_loaded_recipe_are_validated_like_set():
    """Bench variants are recipe overrides: with none the recipe is unchanged, bad values fail as --set does."""
    from xtremedistil_ner.config import with_overrides

    for name in ("cpu", "smoke", "single-hi", "lowres-e5"):
        cfg = load_recipe(ROOT / "recipes" / f"{name}.toml")
        assert with_overrides(cfg, {}) == cfg
    cfg = load_recipe(ROOT / "recipes" / "cpu.toml")
    changed = with_overrides(cfg, {"distill.soft_loss": "kl", "teacher.hidden_layer": 0, "seed": 5})
    assert (changed.distill.soft_loss, changed.teacher.hidden_layer, changed.seed) == ("kl", 0, 5)
    assert changed.student == cfg.student and changed.distill.stages == cfg.distill.stages
    with pytest.raises(RecipeError, match="'median' is not one of"):
        with_overrides(cfg, {"teacher.pooling": "median"})
