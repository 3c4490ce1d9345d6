"""Frozen entry point of both programs (see spikeview.spec): the name it was started as decides.

``spikeview-gui[.exe]`` opens the desktop app (spikeview.gui.app:main); any other name
(``spikeview[.exe]``) is the command line (spikeview.cli:main). On Linux ``spikeview-gui`` is a
symlink to the one ``spikeview`` executable; Windows and macOS ship two executables built
from this same script.
"""
import multiprocessing
import os
import sys

GUI_NAME = "spikeview-gui"


def wants_gui(argv0: str) -> bool:
    return os.path.basename(argv0).lower().startswith(GUI_NAME)


def main() -> int:
    # A windowed executable (Windows, a macOS .app from Finder) or a launcher that closed the
    # standard streams starts with sys.stdout/stderr = None: print() and logging would raise.
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115 (lives as long as the process)
    if wants_gui(sys.argv[0] if sys.argv else ""):
        from spikeview.gui.app import main as gui_main

        return gui_main()
    from spikeview.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    multiprocessing.freeze_support()  # first: a spawned worker process must not open a window
    sys.exit(main())
