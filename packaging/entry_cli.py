"""Frozen entry point of the console command line ``spikeview`` (see spikeview.spec)."""
import multiprocessing
import sys

from spikeview.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
