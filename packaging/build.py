"""Build the one-folder SpikeView bundle with PyInstaller, then smoke-test the frozen app.

    python packaging/build.py                      # build dist/spikeview (or SpikeView.app) + smoke test
    python packaging/build.py --smoke-only         # smoke-test an existing build
    python packaging/build.py --placeholder-models # no published models yet: ship tiny random-weight ones

Smoke test (each in a fresh temporary folder whose name has a space and a non-ASCII letter,
with PYTHONPATH/PYTHONHOME/QT_PLUGIN_PATH/SPIKEVIEW_* removed, PATH reduced to the system
folders, HOME/XDG/APPDATA pointed into the folder and QT_QPA_PLATFORM=offscreen):

1. frozen ``spikeview-gui --self-test out.json``: opens the main window, derains a bundled
   sample with the default SNN + ANN twin through the real worker, renders every view;
   needs ``"ok": true, "frozen": true``. On Linux the bundle's files are first evicted from
   the page cache (posix_fadvise DONTNEED), so this is a cold start.
2. frozen ``spikeview info``: exit 0 and paths pointing into the bundle.
3. frozen ``spikeview derain`` on a bundled sample: exit 0 and an output image of the input's size.
4. frozen ``spikeview train --help`` (the training commands are bundled).

Prints bundle size, the largest parts, what each pruning rule saved, cold start to window
shown, self-test time; writes everything to build/package-report.json. Exit code 0 only if
the build and every smoke test passed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "packaging" / "spikeview.spec"
DIST = ROOT / "dist"
WORK = ROOT / "build" / "pyinstaller"
REPORT = ROOT / "build" / "package-report.json"
PLACEHOLDER_MODELS = ROOT / "build" / "placeholder-models"
IS_WIN, IS_MAC = sys.platform == "win32", sys.platform == "darwin"
EXE_SUFFIX = ".exe" if IS_WIN else ""
BUDGET_SIZE_MB = 700
BUDGET_START_S = 4.0
SMOKE_TIMEOUT_S = 900


class SmokeFailure(RuntimeError):
    pass


def bundle_paths() -> tuple[Path, Path, Path]:
    """(folder to measure, GUI executable, CLI executable) of the build in dist/."""
    if IS_MAC:
        app = DIST / "SpikeView.app"
        return app, app / "Contents" / "MacOS" / "spikeview-gui", app / "Contents" / "MacOS" / "spikeview"
    folder = DIST / "spikeview"
    return folder, folder / f"spikeview-gui{EXE_SUFFIX}", folder / f"spikeview{EXE_SUFFIX}"


def tree_size(folder: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            path = Path(dirpath, name)
            if not path.is_symlink():
                total += path.stat().st_size
    return total


def largest_parts(folder: Path, top: int = 12) -> list[tuple[str, int]]:
    """Sizes of the bundle's second-level folders/files (e.g. _internal/torch), largest first."""
    internal = next((p for p in (folder / "_internal", folder / "Contents" / "Frameworks") if p.is_dir()), folder)
    sizes = {}
    for child in internal.iterdir():
        if child.is_dir() and not child.is_symlink():
            sizes[child.name] = tree_size(child)
        elif child.is_file() and not child.is_symlink():
            sizes[child.name] = child.stat().st_size
    for exe in folder.rglob("spikeview*"):
        if exe.is_file() and os.access(exe, os.X_OK) and exe.parent != internal:
            sizes[f"(exe) {exe.name}"] = exe.stat().st_size
    return sorted(sizes.items(), key=lambda kv: -kv[1])[:top]


def make_placeholder_models(folder: Path) -> Path:
    """Random-weight ESDNet-S SNN + ANN twin (same architecture and size as the shipped ones)."""
    code = r"""
import json, sys, torch
from pathlib import Path
from spikeview.archs import build_arch
from spikeview.checkpoints import save_checkpoint
kw = {"dim": 16, "en_num_blocks": [1, 1, 1, 1], "de_num_blocks": [1, 1, 1, 1], "T": 4}
out = Path(sys.argv[1]); out.mkdir(parents=True, exist_ok=True)
torch.manual_seed(0)
for arch, name in (("esdnet", "placeholder_snn.pt"), ("esdnet_ann", "placeholder_ann.pt")):
    save_checkpoint(out / name, build_arch(arch, **kw), arch, kw, metrics={"note": "random weights"})
(out / "placeholder_snn.md").write_text("# Placeholder\n\nRandom weights: a packaging test build, not a model.\n")
json.dump({"default": "placeholder-snn", "models": {
    "placeholder-snn": {"file": "placeholder_snn.pt", "card": "placeholder_snn.md", "twin": "placeholder-ann",
                        "task": "derain"},
    "placeholder-ann": {"file": "placeholder_ann.pt", "twin": "placeholder-snn", "task": "derain"}}},
    open(out / "MANIFEST.json", "w"), indent=2)
"""
    subprocess.run([sys.executable, "-c", code, str(folder)], check=True, cwd=ROOT)
    return folder


def run_pyinstaller(models: Path, no_prune: bool) -> float:
    env = dict(os.environ, SPIKEVIEW_PACKAGE_MODELS=str(models))
    if no_prune:
        env["SPIKEVIEW_PACKAGE_NO_PRUNE"] = "1"
    cmd = [sys.executable, "-m", "PyInstaller", str(SPEC), "--noconfirm", "--clean",
           "--distpath", str(DIST), "--workpath", str(WORK), "--log-level", "WARN"]
    print("+", " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, env=env)
    return time.perf_counter() - t0


def evict_from_page_cache(folder: Path) -> bool:
    """Drop the bundle's file pages from the OS cache (Linux, no root needed), for a cold start."""
    if not hasattr(os, "posix_fadvise"):
        return False
    os.sync()  # pages of freshly written files are dirty and cannot be dropped before write-back
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                continue
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
    return True


def clean_env(home: Path) -> dict[str, str]:
    """A user-like environment: nothing from this checkout or venv can leak into the frozen app."""
    drop = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "QT_PLUGIN_PATH", "QML2_IMPORT_PATH", "VIRTUAL_ENV",
            "LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH", "SPIKEVIEW_MODELS", "SPIKEVIEW_RESOURCES")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    if IS_WIN:
        system_root = os.environ.get("SYSTEMROOT", r"C:\Windows")
        env["PATH"] = os.pathsep.join([system_root + r"\System32", system_root])
        env["APPDATA"] = str(home / "AppData" / "Roaming")
        env["LOCALAPPDATA"] = str(home / "AppData" / "Local")
        env["USERPROFILE"] = str(home)
    else:
        env["PATH"] = "/usr/bin:/bin"
        env["HOME"] = str(home)
        for var, sub in (("XDG_CONFIG_HOME", ".config"), ("XDG_DATA_HOME", ".local/share"),
                         ("XDG_STATE_HOME", ".local/state"), ("XDG_CACHE_HOME", ".cache")):
            env[var] = str(home / sub)
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def run_frozen(cmd: list[str], cwd: Path, env: dict[str, str], what: str) -> tuple[subprocess.CompletedProcess, float]:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True,
                              encoding="utf-8", errors="replace", timeout=SMOKE_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise SmokeFailure(f"{what}: no exit within {SMOKE_TIMEOUT_S} s") from exc
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        raise SmokeFailure(f"{what}: exit code {proc.returncode}\n{tail}")
    noise = [line for line in proc.stderr.splitlines() if "Warning:" in line or "Traceback" in line]
    if noise:  # e.g. torch sources pruned that torch reads at import
        raise SmokeFailure(f"{what}: warnings on stderr\n" + "\n".join(noise[:10]))
    return proc, wall


def smoke_test(folder: Path, gui: Path, cli: Path, report: dict) -> None:
    # sys._MEIPASS: _internal/ next to the executables; Contents/Frameworks in a macOS .app
    internal = next(p for p in (folder / "_internal", folder / "Contents" / "Frameworks") if p.is_dir())
    samples = sorted((internal / "resources" / "samples").glob("*_rain.png"))
    if not samples:
        raise SmokeFailure(f"no bundled samples under {internal / 'resources' / 'samples'}")
    with tempfile.TemporaryDirectory(prefix="spikeview smoke ü ") as tmp:
        work = Path(tmp)
        env = clean_env(work / "home")

        # 1. GUI self-test, cold
        report["cold_cache"] = evict_from_page_cache(folder)
        out_json = work / "self test" / "out.json"
        _proc, wall = run_frozen([gui, "--self-test", out_json], work, env, "GUI self-test")
        if not out_json.is_file():
            raise SmokeFailure("GUI self-test: exit 0 but no report written")
        st = json.loads(out_json.read_text(encoding="utf-8"))
        report["self_test"] = st
        if not (st.get("ok") and st.get("frozen")):
            raise SmokeFailure(f"GUI self-test: ok={st.get('ok')} frozen={st.get('frozen')} {st.get('error', '')}")
        # In-process timings start at run_app(); what came before (bootloader, unpacking nothing
        # in one-folder mode, interpreter, entry imports) plus process exit is wall - total_s.
        # The self-test measures process start -> window shown itself where the OS tells it
        # (Linux /proc); elsewhere this estimate is an upper bound (it includes process exit).
        outside = max(wall - st["total_s"], 0.0)
        report["self_test_wall_s"] = round(wall, 2)
        report["cold_start_upper_bound_s"] = round(outside + st["startup_to_window_s"], 2)
        if st.get("process_start_to_window_s") is not None:
            report["cold_start_to_window_s"] = st["process_start_to_window_s"]
            report["cold_start_note"] = "process start to window shown, measured in the app"
        else:
            report["cold_start_to_window_s"] = report["cold_start_upper_bound_s"]
            report["cold_start_note"] = "upper bound: includes process exit after the self-test"

        # 1b. the same, warm (second start)
        out2 = work / "warm" / "out.json"
        _proc, wall2 = run_frozen([gui, "--self-test", out2], work, env, "GUI self-test (warm)")
        st2 = json.loads(out2.read_text(encoding="utf-8"))
        report["warm_start_to_window_s"] = st2.get("process_start_to_window_s") or round(
            max(wall2 - st2["total_s"], 0.0) + st2["startup_to_window_s"], 2)
        report["warm_self_test_wall_s"] = round(wall2, 2)

        # 2. CLI info
        proc, wall = run_frozen([cli, "info"], work, env, "spikeview info")
        report["info_s"] = round(wall, 2)
        if str(internal.resolve()) not in proc.stdout and str(internal) not in proc.stdout:
            raise SmokeFailure(f"spikeview info: resource/model paths do not point into the bundle\n{proc.stdout}")
        missing = next((line for line in proc.stdout.splitlines() if line.startswith("not installed")), "")
        if "torch" in missing or "PySide6" in missing:
            raise SmokeFailure(f"spikeview info: package metadata missing from the bundle: {missing}")
        print(proc.stdout.rstrip())

        # 3. CLI derain on a bundled sample
        sample = samples[0]
        out_dir = work / "derained out"
        proc, wall = run_frozen([cli, "derain", sample, "-o", out_dir], work, env, "spikeview derain")
        report["derain_s"] = round(wall, 2)
        outputs = [p for p in out_dir.rglob("*") if p.is_file()]
        if not outputs:
            raise SmokeFailure(f"spikeview derain: no output in {out_dir}\n{proc.stdout}{proc.stderr}")
        report["derain_output"] = _check_same_size(sample, outputs[0])

        # 4. training commands are present in the frozen CLI
        run_frozen([cli, "train", "--help"], work, env, "spikeview train --help")


def _check_same_size(inp: Path, out: Path) -> dict:
    try:
        import cv2
    except ImportError:  # building without OpenCV in this interpreter: existence is all we can check
        return {"file": out.name, "bytes": out.stat().st_size}
    a, b = cv2.imread(str(inp)), cv2.imread(str(out))
    if a is None or b is None or a.shape != b.shape:
        raise SmokeFailure(f"spikeview derain: output {out.name} unreadable or of another size than {inp.name}")
    return {"file": out.name, "shape": list(b.shape)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--smoke-only", action="store_true", help="do not build; smoke-test the existing dist/")
    p.add_argument("--models", type=Path, default=ROOT / "models", help="models folder to ship (default models/)")
    p.add_argument("--placeholder-models", action="store_true",
                   help="ship random-weight ESDNet-S models (test builds only, when models/ is not published yet)")
    p.add_argument("--no-prune", action="store_true", help="skip excludes/pruning (to measure what they save)")
    p.add_argument("--enforce-budgets", action="store_true",
                   help=f"exit 3 when over budget (size < {BUDGET_SIZE_MB} MiB, cold start < {BUDGET_START_S} s)")
    args = p.parse_args(argv)

    report: dict = {"platform": sys.platform, "python": sys.version.split()[0]}
    folder, gui, cli = bundle_paths()
    if not args.smoke_only:
        models = args.models
        if args.placeholder_models:
            models = make_placeholder_models(PLACEHOLDER_MODELS)
            print(f"WARNING: shipping placeholder random-weight models from {models}: not for release", flush=True)
        elif not (models / "MANIFEST.json").is_file():
            print(f"build.py: {models / 'MANIFEST.json'} is missing: publish the models first (spikeview publish) "
                  "or pass --placeholder-models for a test build", file=sys.stderr)
            return 2
        report["models"] = str(models)
        shutil.rmtree(folder, ignore_errors=True)
        report["build_s"] = round(run_pyinstaller(models, args.no_prune), 1)
        prune = WORK / "spikeview" / "prune-report.json"
        report["pruned"] = json.loads(prune.read_text()) if prune.is_file() else {}
    if not gui.is_file() or not cli.is_file():
        print(f"build.py: no build at {folder}", file=sys.stderr)
        return 1

    size = tree_size(folder)
    report["bundle_bytes"] = size
    report["largest_parts"] = largest_parts(folder)
    ok = True
    try:
        smoke_test(folder, gui, cli, report)
    except SmokeFailure as exc:
        print(f"SMOKE TEST FAILED: {exc}", file=sys.stderr)
        report["smoke_error"] = str(exc)
        ok = False

    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    mb = 1024 * 1024  # sizes in MiB, as du -h shows them
    print("\n== SpikeView bundle ==")
    if "build_s" in report:
        print(f"build time           {report['build_s']:.0f} s")
    print(f"bundle size          {size / mb:.0f} MiB = {size / 1e6:.0f} MB unpacked ({folder})   "
          f"budget < {BUDGET_SIZE_MB} MiB")
    for name, nbytes in report["largest_parts"]:
        print(f"  {nbytes / mb:8.1f} MiB  {name}")
    for rule, item in report.get("pruned", {}).items():
        saved = f"{item['bytes'] / mb:7.1f} MiB" if item.get("bytes") is not None else "        -  "
        print(f"pruned {saved}  {item['files']:5d} files  {rule}")
    if "cold_start_to_window_s" in report:
        cache = "page cache evicted" if report.get("cold_cache") else "page cache not evicted"
        print(f"cold start → window  {report['cold_start_to_window_s']:.2f} s ({cache}; "
              f"{report['cold_start_note']})   budget < {BUDGET_START_S} s")
        print(f"warm start → window  {report['warm_start_to_window_s']:.2f} s")
        st = report["self_test"]
        print(f"self-test            {report['self_test_wall_s']:.1f} s wall cold, "
              f"{report['warm_self_test_wall_s']:.1f} s warm (model load {st.get('model_load_s')} s, "
              f"restore {st.get('restore_wall_s')} s, {st.get('image_size')})")
    if "derain_s" in report:
        print(f"spikeview info       {report['info_s']:.1f} s;  spikeview derain 1 sample {report['derain_s']:.1f} s")
    print(f"report               {REPORT}")
    if not ok:
        return 1
    over = []
    if size > BUDGET_SIZE_MB * mb:
        over.append(f"bundle {size / mb:.0f} MiB > {BUDGET_SIZE_MB} MiB")
    if report.get("cold_start_to_window_s", 0) > BUDGET_START_S:
        over.append(f"cold start {report['cold_start_to_window_s']:.2f} s > {BUDGET_START_S} s")
    if over:
        print("OVER BUDGET: " + "; ".join(over), file=sys.stderr)
        if args.enforce_budgets:
            return 3
    print("smoke test passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
