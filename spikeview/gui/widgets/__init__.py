"""Widgets of the SpikeView window; each takes numpy arrays and dataclasses, never tensors."""
