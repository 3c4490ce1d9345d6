"""Training support: rain/noise synthesis, datasets, losses and the training loop.

:mod:`spikeview.training.rain` renders synthetic rain (numpy + OpenCV only);
:mod:`spikeview.training.datasets` turns image folders into torch datasets of
(input, target) float32 CHW tensors in [0, 1]. Nothing here is imported by the GUI.
"""
