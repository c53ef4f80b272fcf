"""The serving runtime needs no torch or transformers; loading a PyTorch student needs no training code; no cycles."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

TEXTS = [
    "Angela Merkel besuchte am Montag Paris und traf Emmanuel Macron .",
    "",
    "नरेंद्र मोदी ने दिल्ली में कहा।",
    "The United Nations met in New York City on Jean-Paul's 3.5 km walk.",
]
PACKAGE = ROOT / "xtremedistil_ner"


@pytest.fixture(scope="module")
def exported(smoke_run, tmp_path_factory) -> Path:
    pytest.importorskip("onnxruntime")
    from xtremedistil_ner.checkpoint import load_student
    from xtremedistil_ner.serve.onnx_export import export_onnx

    student = tmp_path_factory.mktemp("runtime") / "student"
    shutil.copytree(smoke_run / "student", student)
    export_onnx(load_student(student).model, student / "onnx", int8=True)
    return student


def _run(code: str, *args: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON object."""
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_onnx_runtime_tags_text_without_torch_or_transformers(exported):
    code = (
        "import json, sys\n"
        "from xtremedistil_ner.runtime.onnx import load_onnx_tagger\n"
        "texts = json.loads(sys.argv[2])\n"
        "out = {}\n"
        "for precision in ('float32', 'int8'):\n"
        "    tagger = load_onnx_tagger(sys.argv[1], precision)\n"
        "    preds = tagger.predict(texts)\n"
        "    out[precision] = [[list(p.tags), [[e.text, e.type] for e in p.entities]] for p in preds]\n"
        "out['loaded'] = sorted(m for m in ('torch', 'transformers', 'accelerate') if m in sys.modules)\n"
        "print(json.dumps(out))\n"
    )
    got = _run(code, str(exported), json.dumps(TEXTS))
    assert got["loaded"] == []
    from xtremedistil_ner.serve.load import load_tagger

    reference = load_tagger(exported, runtime="pytorch").predict(TEXTS)
    expected = [[list(p.tags), [[e.text, e.type] for e in p.entities]] for p in reference]
    assert got["float32"] == expected  # same words, pieces, emissions (to 1e-4) and Viterbi paths as PyTorch
    assert [len(t) for t, _ in got["int8"]] == [len(t) for t, _ in expected]
    assert load_tagger(exported).runtime == "onnx-int8"  # auto picks the fastest runtime the student has


def test_loading_a_pytorch_student_imports_no_teacher_or_training_code(smoke_run):
    code = (
        "import json, sys\n"
        "from xtremedistil_ner import load_tagger\n"
        "tagger = load_tagger(sys.argv[1], runtime='pytorch')\n"
        "tagger.predict(['Angela Merkel besuchte Paris .'])\n"
        "names = ('teacher', 'teacher_zoo', 'distill', 'pipeline', 'resume', 'cache', 'losses', 'schedule')\n"
        "ours = sorted(n for n in names if 'xtremedistil_ner.' + n in sys.modules)\n"
        "loaded = {m: m in sys.modules for m in ('accelerate', 'torch')}\n"
        "print(json.dumps({'ours': ours, **loaded}))\n"
    )
    got = _run(code, str(smoke_run / "student"))
    assert got == {"ours": [], "accelerate": False, "torch": True}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """Package modules imported anywhere in ``path`` (top level or inside functions)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in modules}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                target = f"{base}.{alias.name}"
                found.add(target if target in modules else base)
    return {m for m in found if m in modules and m != name}


def test_the_package_has_no_import_cycles():
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {name: _imports(path, set(files)) for name, path in files.items()}
    cycles, index, low, stack, on_stack = [], {}, {}, [], set()

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for name in graph:
        if name not in index:
            visit(name)
    assert cycles == []
    assert len(graph) > 40 and "xtremedistil_ner.runtime.onnx" in graph["xtremedistil_ner.serve.load"]


def test_the_runtime_package_imports_nothing_that_imports_torch():
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {name: _imports(path, set(files)) for name, path in files.items()}
    reached, todo = set(), [n for n in files if n.startswith("xtremedistil_ner.runtime")]
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            todo += graph[name]
    for name in reached:
        tree = ast.parse(files[name].read_text(encoding="utf-8"))
        imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not imported & {"torch", "transformers", "accelerate", "datasets"}, name


def _layers() -> dict[str, int]:
    """Module -> layer, from the table of docs/ARCHITECTURE.md (``runtime.*`` covers the subpackage)."""
    layers = {}
    for line in (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 3 and cells[1].isdigit():
            for name in re.findall(r"`([\w.*]+)`", cells[2]):
                layers[name] = int(cells[1])
    return layers


def _layer_of(module: str, layers: dict[str, int]) -> int | None:
    short = module.removeprefix("xtremedistil_ner.")
    if short in layers:
        return layers[short]
    package = short.rpartition(".")[0]
    return layers.get(f"{package}.*") if package else None


def test_every_import_follows_the_layers_of_the_architecture_page():
    layers = _layers()
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    unplaced = sorted(
        n for n in files if n != "xtremedistil_ner" and not n.endswith("__init__") and _layer_of(n, layers) is None
    )
    unplaced = [n for n in unplaced if files[n].name != "__init__.py"]
    assert unplaced == [], "modules missing from docs/ARCHITECTURE.md"
    wrong = []
    for name, path in files.items():
        if name == "xtremedistil_ner" or path.name == "__init__.py":
            continue
        for target in _imports(path, set(files)):
            if target == "xtremedistil_ner" or files[target].name == "__init__.py":
                continue
            if _layer_of(target, layers) > _layer_of(name, layers):
                wrong.append(f"{name} ({_layer_of(name, layers)}) imports {target} ({_layer_of(target, layers)})")
    assert wrong == []
