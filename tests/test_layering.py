"""Qt stays inside ``spikeview/gui``: the engine, CLI and library import no PySide6/pyqtgraph."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import spikeview

QT_MODULES = ("PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6", "PySide2")
PACKAGE = Path(spikeview.__file__).resolve().parent


def test_library_and_cli_imports_leave_qt_out():
    code = (
        "import sys, importlib, pkgutil\n"
        "import spikeview, spikeview.cli, spikeview.inference, spikeview.inference.restorer\n"
        "import spikeview.inference.batch, spikeview.recording, spikeview.energy, spikeview.media\n"
        "import spikeview.catalog, spikeview.metrics, spikeview.checkpoints\n"
        "spikeview.cli.build_parser()  # imports every command module, including 'gui'\n"
        "for name in ('spikeview.inference.pipeline', 'spikeview.environment'):\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ImportError:\n"
        "        pass\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {QT_MODULES!r})\n"
        "print('QT:', bad)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "QT: []" in proc.stdout, proc.stdout


def test_cli_help_imports_no_qt():
    code = (
        "import sys, contextlib, io\n"
        "from spikeview.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        main(['gui', '--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"print('QT:', sorted(m for m in sys.modules if m.split('.')[0] in {QT_MODULES!r}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "QT: []" in proc.stdout, proc.stdout + proc.stderr[-2000:]


def test_no_qt_import_statements_outside_gui():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "gui":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{rel}:{node.lineno} {n}" for n in names if n.split(".")[0] in QT_MODULES]
    assert not offenders, offenders
