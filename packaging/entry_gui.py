"""Frozen entry point of the windowed desktop app ``spikeview-gui`` (see spikeview.spec)."""
import multiprocessing
import sys

from spikeview.gui.app import main  # main() also replaces a None sys.stdout/stderr (windowed builds)

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
