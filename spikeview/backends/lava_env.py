"""The Python 3.10 environment that runs Lava (``.venv-lava``), found or created reproducibly.

lava-nc 0.10.0 (its last release) requires Python < 3.11 and fails to import on 3.11 (a
dataclass with a mutable default), so the Lava backend runs :mod:`spikeview.backends.lava_runner`
in a separate Python 3.10 venv. This module (stdlib only, no torch) finds a 3.10 interpreter,
creates the venv with the pinned packages below and checks that Lava imports::

    make lava-env                                # or:
    python -m spikeview.backends.lava_env [--force] [--env DIR] [--python PY310]

Where things are looked up:

* the env: ``$SPIKEVIEW_LAVA_ENV``, else ``.venv-lava`` next to the ``spikeview`` package
  (the source checkout);
* Python 3.10: ``$SPIKEVIEW_PY310``, then ``pyenv`` (any installed 3.10.x, newest first),
  then ``python3.10`` on ``PATH``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

log = logging.getLogger(__name__)

#: Everything the runner imports, pinned to the versions that were installed and run together
#: on Python 3.10.13 (lava-nc 0.10.0 needs numpy < 2; torch is deliberately absent: Lava's conv
#: then uses scipy, and the env stays ~280 MB instead of ~1 GB).
REQUIREMENTS: tuple[str, ...] = (
    "lava-nc==0.10.0",
    "nir==1.0.8",
    "numpy==1.26.4",
    "scipy==1.15.3",
    "networkx==2.8.7",
    "asteval==0.9.33",
    "cloudpickle==3.1.2",
    "h5py==3.16.0",
    "scikit-learn==1.7.2",
    "joblib==1.6.0",
    "threadpoolctl==3.8.0",
)
STAMP = ".spikeview-lava"
CHECK = "import lava, nir; from lava.proc.lif.process import LIF; from lava.proc.conv.process import Conv"


class LavaEnvError(Exception):
    """The Lava environment cannot be found or created (message is one line)."""


def default_env_dir() -> Path:
    """``$SPIKEVIEW_LAVA_ENV`` or ``.venv-lava`` in the source checkout."""
    override = os.environ.get("SPIKEVIEW_LAVA_ENV")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / ".venv-lava"


def env_python(env_dir: Path) -> Path:
    """The interpreter inside a venv (POSIX or Windows layout)."""
    posix = env_dir / "bin" / "python"
    return posix if posix.exists() or os.name != "nt" else env_dir / "Scripts" / "python.exe"


def requirements_hash() -> str:
    return hashlib.sha256("\n".join(REQUIREMENTS).encode()).hexdigest()[:16]


def env_problem(env_dir: Path | None = None) -> str | None:
    """Why the env at ``env_dir`` is not usable (None if it is). Cheap: looks at files only."""
    env_dir = env_dir or default_env_dir()
    if not env_python(env_dir).exists():
        return f"no Lava environment at {env_dir}: run `make lava-env`"
    stamp = env_dir / STAMP
    if not stamp.exists():
        return f"the Lava environment at {env_dir} is incomplete: run `make lava-env`"
    if stamp.read_text().strip() != requirements_hash():
        return f"the Lava environment at {env_dir} has other package versions: run `make lava-env`"
    return None


def _python_version(python: str | Path) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [str(python), "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"],
            capture_output=True, text=True, timeout=30, check=True,
        ).stdout.split()
        return int(out[0]), int(out[1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def _pyenv_candidates() -> list[Path]:
    roots = []
    pyenv = shutil.which("pyenv")
    if pyenv:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            roots.append(Path(subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=30,
                                             check=True).stdout.strip()))
    if os.environ.get("PYENV_ROOT"):
        roots.append(Path(os.environ["PYENV_ROOT"]))
    roots.append(Path.home() / ".pyenv")
    found: list[tuple[tuple[int, ...], Path]] = []
    for root in roots:
        for version_dir in (root / "versions").glob("3.10.*"):
            match = re.fullmatch(r"3\.10\.(\d+)", version_dir.name)
            python = version_dir / "bin" / "python"
            if match and python.exists():
                found.append(((int(match.group(1)),), python))
    return [p for _, p in sorted(set(found), reverse=True)]


def find_python310() -> Path:
    """A Python 3.10 interpreter: ``$SPIKEVIEW_PY310``, pyenv's newest 3.10.x, or ``python3.10``."""
    candidates: list[Path] = []
    override = os.environ.get("SPIKEVIEW_PY310")
    if override:
        if _python_version(override) != (3, 10):
            raise LavaEnvError(f"SPIKEVIEW_PY310={override} is not a Python 3.10 interpreter")
        return Path(override)
    candidates.extend(_pyenv_candidates())
    on_path = shutil.which("python3.10")
    if on_path:
        candidates.append(Path(on_path))
    for python in candidates:
        if _python_version(python) == (3, 10):
            return python
    raise LavaEnvError(
        "Lava needs Python 3.10 and none was found (tried $SPIKEVIEW_PY310, pyenv, python3.10 on PATH); "
        "install one, e.g. `pyenv install 3.10.13`"
    )


def _run(cmd: list[str], what: str, timeout: float) -> None:
    log.info("%s: %s", what, " ".join(cmd))
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise LavaEnvError(f"{what} took longer than {timeout:.0f} s") from None
    except OSError as exc:
        raise LavaEnvError(f"{what} failed: {exc}") from None
    if proc.returncode != 0:
        lines = [line for line in (proc.stderr or proc.stdout).strip().splitlines() if line.strip()]
        last = lines[-1] if lines else f"exit code {proc.returncode}"
        raise LavaEnvError(f"{what} failed: {last}")


def create_env(env_dir: Path | None = None, python: Path | None = None, force: bool = False,
               timeout: float = 900.0) -> Path:
    """Create (or reuse, if already complete) the Lava venv; return its interpreter.

    The venv is built from a Python 3.10 with exactly :data:`REQUIREMENTS`; a stamp file
    records the pin set, so a changed pin list triggers a rebuild.
    """
    env_dir = env_dir or default_env_dir()
    if not force and env_problem(env_dir) is None:
        log.info("Lava environment at %s is up to date", env_dir)
        return env_python(env_dir)
    python = python or find_python310()
    if env_dir.exists():
        shutil.rmtree(env_dir)
    _run([str(python), "-m", "venv", str(env_dir)], "creating the venv", timeout)
    py = env_python(env_dir)
    _run([str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *REQUIREMENTS],
         "installing lava-nc and nir", timeout)
    _run([str(py), "-c", CHECK], "importing lava", 120)
    (env_dir / STAMP).write_text(requirements_hash() + "\n")
    log.info("Lava environment ready at %s (%s)", env_dir, python)
    return py


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Create the Python 3.10 environment for the Lava backend.")
    parser.add_argument("--env", type=Path, default=None, help="venv folder (default: .venv-lava in the checkout)")
    parser.add_argument("--python", type=Path, default=None, help="Python 3.10 interpreter to build it from")
    parser.add_argument("--force", action="store_true", help="rebuild even if it is up to date")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        create_env(args.env, args.python, args.force)
    except LavaEnvError as exc:
        log.error("lava-env: %s", exc)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
