"""``python -m spikeview`` runs the command-line interface."""

from spikeview.cli import main

raise SystemExit(main())
