"""The engine shared by the CLI and the GUI: device choice, padding/tiling, restoring images
and frames, per-run statistics. No Qt here."""
