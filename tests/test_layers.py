"""The layers only point one way: domain <- store <- services <- (cli, ui)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "smvault"

# Which smvault packages each layer may import.
ALLOWED = {
    "domain": {"domain"},
    "store": {"domain", "store"},
    "services": {"domain", "store", "services"},
    "cli": {"domain", "services", "cli"},
    "ui": {"domain", "services", "ui"},
}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).parts
        if len(parts) > 1:
            yield parts[0], path


# The one crossing: `smvault ui` starts the UI, importing it inside the command only.
LAZY_UI_ENTRY = PACKAGE / "cli" / "ui_cmds.py"


def _module_level_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer, path", list(_modules()), ids=lambda v: str(v).split("smvault/")[-1])
def test_layer_imports_point_one_way(layer, path):
    for name in _imports(path):
        if path == LAZY_UI_ENTRY and name.startswith("smvault.ui"):
            assert name not in _module_level_imports(path), "the UI must be imported lazily"
            continue
        top = name.split(".")
        if top[0] == "smvault" and len(top) > 1:
            assert top[1] in ALLOWED[layer], f"{path.name} ({layer}) imports {name}"
        if top[0] == "sqlcipher3":
            assert layer == "store", f"{path.name} imports sqlcipher3 outside the store"
        if top[0] == "textual":
            assert layer == "ui", f"{path.name} imports textual outside the ui"


@pytest.mark.parametrize("module", ["smvault.services.session", "smvault.cli.main"])
def test_headless_modules_never_load_textual(module):
    code = f"import sys, {module}; from smvault.cli import main; print('textual' in sys.modules, 'rich' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_cli_help_runs_as_a_module():
    result = subprocess.run([sys.executable, "-m", "smvault", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "who-can" in result.stdout and result.stderr == ""
