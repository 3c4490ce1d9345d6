"""The PyInstaller spec and entry scripts, checked without building (no PyInstaller needed).

The spec keeps its declarations (data folders, excludes, pruning rules) as plain literals so
they can be read here with ``ast``; the build itself is ``python packaging/build.py``.
"""

from __future__ import annotations

import ast
import contextlib
import fnmatch
import importlib.util
import sys
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


def test_spec_compiles_and_declares_the_executables_in_one_folder():
    compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec")
    decl = _declarations()
    assert len(_calls("Analysis")) == 1
    exes = _calls("EXE")
    assert len(exes) == 2  # console CLI always, windowed GUI where it cannot be a symlink
    consoles = sorted(next(k.value.value for k in e.keywords if k.arg == "console") for e in exes)
    assert consoles == [False, True]
    (collect,) = _calls("COLLECT")
    kw = {k.arg: k.value for k in collect.keywords}
    assert isinstance(kw["upx"], ast.Constant) and kw["upx"].value is False
    assert decl["GUI_EXE"] != decl["CLI_EXE"]
    # Linux: one executable, spikeview-gui a relative symlink to it (Windows needs two PE subsystems,
    # macOS a real CFBundleExecutable)
    assert decl["SINGLE_EXE_PLATFORMS"] == ["linux"]
    (link,) = [c for c in ast.walk(_spec_tree()) if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute)
               and c.func.attr == "symlink"]
    assert isinstance(link.args[0], ast.Name) and link.args[0].id == "CLI_EXE"
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


# optional research backends the bundle leaves out on purpose (spec EXCLUDES): imported only
# inside functions, so the frozen app runs without them and lists their backends as unavailable
OPTIONAL_NOT_BUNDLED = ["nir", "h5py", "lava", "nirtorch"]


def test_excludes_drop_unused_packages_but_nothing_the_app_imports():
    excludes = _declarations()["EXCLUDES"]
    for name in ("tkinter", "PyQt5", "PyQt6", "PySide2", "scipy", "skimage", "pytest", "ssl", "_hashlib", "nir"):
        assert name in excludes
    for module in NEEDED:
        assert not any(_covers(ex, module) for ex in excludes), module
    # every import statement in the package (top-level or inside functions) survives the excludes
    for path in (ROOT / "spikeview").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top_level = {id(n) for n in tree.body}
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for module in names:
                hit = [ex for ex in excludes if _covers(ex, module)]
                if hit and any(_covers(opt, module) for opt in OPTIONAL_NOT_BUNDLED):
                    assert id(node) not in top_level, f"{path.relative_to(ROOT)} imports optional {module} at import"
                    continue
                assert not hit, f"{path.relative_to(ROOT)} imports {module}, excluded by {hit}"


def test_pruning_never_drops_the_data_folders_or_needed_modules():
    decl = _declarations()
    patterns = [p for pats in decl["PRUNE_RULES"].values() for p in pats]
    shipped = [f"models/{n}" for n in ("MANIFEST.json", "esdnet_s_rain.pt", "esdnet_s_rain.md")]
    shipped += [p.relative_to(ROOT).as_posix() for p in (ROOT / "resources").rglob("*") if p.is_file()]
    for dest in shipped:
        assert not any(fnmatch.fnmatch(dest, p) for p in patterns), dest
    for module in NEEDED + decl["PRUNE_MODULES_KEEP"]:
        pruned = any(fnmatch.fnmatch(module, p) for p in decl["PRUNE_MODULES"])
        assert not pruned or module in decl["PRUNE_MODULES_KEEP"], module
    # torch.utils.checkpoint and torch._refs import these test helpers at module level
    assert {"torch.testing._internal.common_dtype", "torch.testing._internal.logging_tensor"} <= set(
        decl["PRUNE_MODULES_KEEP"])
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


def _load_entry():
    spec = importlib.util.spec_from_file_location("_spikeview_entry", PACKAGING / _declarations()["ENTRY"])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # __name__ is not "__main__": definitions only
    return module


def test_entry_script_dispatches_on_the_name_it_was_started_as(monkeypatch):
    import spikeview.cli

    entry = _load_entry()
    for argv0 in ("spikeview-gui", "/opt/SpikeView/spikeview-gui", "./spikeview-gui.exe",
                  "/Applications/SpikeView.app/Contents/MacOS/spikeview-gui"):
        assert entry.wants_gui(argv0), argv0
    for argv0 in ("spikeview", "/opt/SpikeView/spikeview", "spikeview.exe", ""):
        assert not entry.wants_gui(argv0), argv0
    monkeypatch.setattr(spikeview.cli, "main", lambda: 11)
    monkeypatch.setattr(sys, "argv", ["/opt/SpikeView/spikeview", "info"])
    assert entry.main() == 11
    pytest.importorskip("PySide6")
    import spikeview.gui.app

    monkeypatch.setattr(spikeview.gui.app, "main", lambda: 22)
    monkeypatch.setattr(sys, "argv", ["/opt/SpikeView/spikeview-gui"])
    assert entry.main() == 22
    source = (PACKAGING / _declarations()["ENTRY"]).read_text(encoding="utf-8")
    assert source.index("multiprocessing.freeze_support()") > source.index('if __name__ == "__main__":')


def test_entry_script_survives_missing_std_streams(monkeypatch):
    # A windowed build (Windows, a macOS .app from Finder) or a launcher that closed fds 1/2 starts
    # with sys.stdout = sys.stderr = None; print() would raise AttributeError. The real frozen case
    # is covered by build.py (a GUI self-test with stdout/stderr closed).
    entry = _load_entry()
    monkeypatch.setattr(sys, "stdout", None)
    monkeypatch.setattr(sys, "stderr", None)
    monkeypatch.setattr(sys, "argv", ["spikeview", "--version"])
    with pytest.raises(SystemExit) as exc:  # argparse prints the version, then exits 0
        entry.main()
    assert exc.value.code == 0
    assert sys.stdout is not None and sys.stderr is not None
    sys.stdout.close()
    sys.stderr.close()


def _workflow() -> dict:
    yaml = pytest.importorskip("yaml")
    data = yaml.safe_load((ROOT / ".github" / "workflows" / "package.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_package_workflow_parses_and_runs_the_same_build_script():
    wf = _workflow()
    triggers = wf.get("on", wf.get(True))  # YAML 1.1 reads the bare key `on` as True
    assert "workflow_dispatch" in triggers
    (job,) = wf["jobs"].values()
    assert set(job["strategy"]["matrix"]["os"]) == {"ubuntu-latest", "windows-latest", "macos-latest"}
    runs = [step.get("run", "") for step in job["steps"]]
    builds = [r for r in runs if "packaging/build.py" in r]
    assert len(builds) == 1 and builds[0].split()[:2] == ["python", "packaging/build.py"]
    # torch without CUDA on Linux, pinned with constraints.txt like the Makefile
    install = next(r for r in runs if "pip install" in r)
    assert "download.pytorch.org/whl/cpu" in install and "-c constraints.txt" in install
    # the Makefile target and CI call the same script; CI enforces the budgets
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    target = makefile.split("\npackage:", 1)[1].split("\n\n", 1)[0]
    assert "packaging/build.py $(PACKAGE_ARGS)" in target
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci and "make package PACKAGE_ARGS=--enforce-budgets" in ci
    assert ci.index("make test") < ci.index("make package")
