"""Image files in and out (numpy + OpenCV only: no torch, no Qt).

:mod:`spikeview.media.images` reads and writes files as RGB ``uint8``/``uint16`` HWC
arrays; :mod:`spikeview.media.convert` turns those into the float32 [0, 1] arrays the
engine uses and back.
"""
