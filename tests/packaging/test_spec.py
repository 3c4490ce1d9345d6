"""The PyInstaller spec and entry scripts, checked without building (no PyInstaller needed).

The spec keeps its declarations (data folders, excludes, pruning rules) as plain literals so
they can be read here with ``ast``; the build itself is ``python packaging/build.py``.
"""

from __future__ import annotations

import ast
import contextlib
import fnmatch
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
SPEC = PACKAGING / "spikeview.spec"

# what the frozen app must be able to import (the GUI, the CLI and their run-time deps)
# (pyqtgraph 0.14 imports QtOpenGL/QtOpenGLWidgets through importlib, which tests cannot see; torch
# imports unittest, torch.distributed and torch.testing at `import torch`)
NEEDED = ["spikeview", "torch", "numpy", "cv2", "PySide6", "PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets",
          "PySide6.QtOpenGL", "PySide6.QtOpenGLWidgets", "PySide6.QtSvg", "pyqtgraph", "platformdirs", "yaml",
          "unittest", "tqdm", "torch.distributed", "torch.testing", "torch.export", "spikeview.training",
          "spikeview.gui.selftest"]


def _spec_tree() -> ast.Module:
    return ast.parse(SPEC.read_text(encoding="utf-8"), filename=str(SPEC))


def _declarations() -> dict:
    """The spec's UPPER_CASE literal assignments."""
    found = {}
    for node in _spec_tree().body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            # computed values (ROOT, PRUNE...) are not declarations
            if name.isupper():
                with contextlib.suppress(ValueError):
                    found[name] = ast.literal_eval(node.value)
    return found


def _calls(name: str) -> list[ast.Call]:
    return [n for n in ast.walk(_spec_tree())
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == name]


def _covers(exclude: str, module: str) -> bool:
    return module == exclude or module.startswith(exclude + ".")


def test_spec_compiles_and_declares_two_executables_in_one_folder():
    compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec")
    decl = _declarations()
    assert len(_calls("Analysis")) == 1
    exes = _calls("EXE")
    assert len(exes) == 2
    consoles = sorted(next(k.value.value for k in e.keywords if k.arg == "console") for e in exes)
    assert consoles == [False, True]  # windowed GUI + console CLI
    (collect,) = _calls("COLLECT")
    kw = {k.arg: k.value for k in collect.keywords}
    assert isinstance(kw["upx"], ast.Constant) and kw["upx"].value is False
    assert decl["GUI_EXE"] != decl["CLI_EXE"]
    # one-folder: binaries go to COLLECT, not into the executables
    common = next(n for n in ast.walk(_spec_tree()) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                  and n.func.id == "dict" and any(k.arg == "exclude_binaries" for k in n.keywords))
    flags = {k.arg: k.value.value for k in common.keywords if isinstance(k.value, ast.Constant)}
    assert flags["exclude_binaries"] is True
    assert flags["upx"] is False


def test_spec_ships_resources_and_models():
    data = _declarations()["DATA_DIRS"]
    assert set(data) == {"resources", "models"}
    assert {"MANIFEST.json", "*.pt", "*.md"} <= set(data["models"])
    assert (ROOT / "resources" / "samples").is_dir()


def test_excludes_drop_unused_packages_but_nothing_the_app_imports():
    excludes = _declarations()["EXCLUDES"]
    for name in ("tkinter", "PyQt5", "PyQt6", "PySide2", "scipy", "skimage", "pytest"):
        assert name in excludes
    for module in NEEDED:
        assert not any(_covers(ex, module) for ex in excludes), module
    # every import statement in the package (top-level or inside functions) survives the excludes
    for path in (ROOT / "spikeview").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for module in names:
                hit = [ex for ex in excludes if _covers(ex, module)]
                assert not hit, f"{path.relative_to(ROOT)} imports {module}, excluded by {hit}"


def test_pruning_never_drops_the_data_folders_or_needed_modules():
    decl = _declarations()
    patterns = [p for pats in decl["PRUNE_RULES"].values() for p in pats]
    shipped = [f"models/{n}" for n in ("MANIFEST.json", "esdnet_s_rain.pt", "esdnet_s_rain.md")]
    shipped += [p.relative_to(ROOT).as_posix() for p in (ROOT / "resources").rglob("*") if p.is_file()]
    for dest in shipped:
        assert not any(fnmatch.fnmatch(dest, p) for p in patterns), dest
    for module in NEEDED:
        assert not any(fnmatch.fnmatch(module, p) for p in decl["PRUNE_MODULES"]), module
    # torch reads some of its sources at import: pruned .py files must spare them
    for source in ("torch/distributed/config.py", "torch/_functorch/config.py", "torch/utils/_config_module.py",
                   "torch/nn/functional.py", "torch/functional.py"):
        assert any(fnmatch.fnmatch(source, p) for p in decl["PRUNE_KEEP"]), source
    # torch's shared libraries stay, and the helper `import torch` looks for
    for lib in ("torch/lib/libtorch_cpu.so", "torch/lib/torch_cpu.dll", "torch/lib/libc10.dylib",
                "torch/bin/torch_shm_manager"):
        assert not any(fnmatch.fnmatch(lib, p) for p in patterns), lib


def test_cli_subcommands_are_hidden_imports():
    # spikeview.cli imports its subcommands with importlib from a list of names
    import spikeview.cli

    source = SPEC.read_text(encoding="utf-8")
    assert 'collect_submodules("spikeview")' in source
    assert all(name.startswith("spikeview.") for name in spikeview.cli.COMMAND_MODULES)


def _load_entry(name: str):
    spec = importlib.util.spec_from_file_location(f"_entry_{name}", PACKAGING / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # __name__ is not "__main__": imports only
    return module


def test_entry_scripts_call_the_right_mains():
    import spikeview.cli

    assert _load_entry("entry_cli.py").main is spikeview.cli.main
    pytest.importorskip("PySide6")
    import spikeview.gui.app

    assert _load_entry("entry_gui.py").main is spikeview.gui.app.main
    decl = _declarations()
    for entry in (decl["ENTRY_GUI"], decl["ENTRY_CLI"]):
        source = (PACKAGING / entry).read_text(encoding="utf-8")
        assert "multiprocessing.freeze_support()" in source
        assert 'if __name__ == "__main__":' in source
