"""Guards for what the package trusts: no unpickling, remote code only on request."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "xtremedistil_ner"


def _calls_and_imports(path: Path) -> tuple[set[str], set[str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls, imports = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            calls.add(ast.unparse(node.func))
        elif isinstance(node, ast.Import):
            imports.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imports.add(node.module)
    return calls, imports


def test_package_never_unpickles():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        calls, imports = _calls_and_imports(path)
        bad = {c for c in calls if c in ("torch.load", "pickle.load", "pickle.loads", "np.load", "numpy.load")}
        bad |= {i for i in imports if i in ("pickle", "dill", "joblib", "cloudpickle")}
        offenders += [f"{path.relative_to(PACKAGE)}: {b}" for b in sorted(bad)]
    assert offenders == []


def test_remote_code_is_never_switched_on_in_code():
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "trust_remote_code":
                assert not (isinstance(node.value, ast.Constant) and node.value.value is True), path
