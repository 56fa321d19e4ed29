"""The one-way rule desktop -> training -> engine, and a GUI that opens before torch."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
QT = {"PySide6", "pyqtgraph", "shiboken6", "qtpy"}


def imports_of(package: str) -> dict[str, set[str]]:
    """Top-level module names imported anywhere in a package (module level or not)."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize("package, forbidden", [
    ("engine", QT | {"training", "desktop"}),
    ("training", QT | {"desktop"}),
])
def test_lower_layers_never_import_upper_ones(package, forbidden):
    bad = {f: sorted(names & forbidden) for f, names in imports_of(package).items() if names & forbidden}
    assert not bad, f"{package} must not import {sorted(forbidden)}: {bad}"


def test_desktop_never_imports_torch_at_module_level():
    bad = []
    for path in (ROOT / "desktop").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:  # module level only
            mods = []
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                mods = [node.module]
            if any(m.split(".")[0] in ("torch", "torchvision") for m in mods):
                bad.append(str(path.relative_to(ROOT)))
    assert not bad, f"desktop modules import torch at module level: {bad}"


def test_opening_the_window_does_not_import_torch():
    code = (
        "import sys, os\n"
        "os.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
        "from desktop.app import create_app\n"
        "app = create_app()\n"
        "from desktop.main_window import MainWindow\n"
        "w = MainWindow(); w.show(); app.processEvents()\n"
        "print('torch' in sys.modules, 'engine.registry' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0] == "False", "torch was imported before the window showed"


def test_headless_commands_do_not_import_qt():
    code = ("import sys\nfrom desktop.cli import main\n"
            "rc = main(['models', 'archs', '--kind', 'classical'])\n"
            "print('QT', any(m.startswith('PySide6') for m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "QT False" in out.stdout
