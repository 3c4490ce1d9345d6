"""SpikeView: interactive image restoration with spiking neural networks.

Importing the package is cheap on purpose: torch, OpenCV and Qt are imported by the
sub-packages that need them, never here.
"""

__version__ = "0.1.0"
