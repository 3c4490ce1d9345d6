"""The SpikeView desktop app (PySide6 + pyqtgraph); the only package that imports Qt.

``spikeview.gui.app.main`` starts it. Module map:

- ``app``: defensive ``main()``: frozen-app guards, logging, excepthook, theme, window.
- ``main_window``: composes the panels, menus, shortcuts, status bar; no model maths.
- ``controller``: the one GUI module that touches the engine; a worker ``QThread``.
- ``settings``: QSettings wrapper with one ``DEFAULTS`` dict.
- ``types``: Qt-free dataclasses that widgets receive (numpy arrays, numbers, strings).
- ``widgets/``: image panes, model picker, file list, activity/energy/batch docks.
- ``selftest`` / ``responsiveness``: ``spikeview gui --self-test`` and ``bench --gui``.

Importing this package imports no Qt; the submodules do.
"""

import sys as _sys


def _pin_singletons() -> None:
    """Work around PySide6 6.12.0 on Python < 3.12: ``SignalInstance.emit`` returns ``True``
    without a new reference, so every emit (ours and pyqtgraph's) drops one reference to
    ``True`` and after a few thousand emits CPython aborts with "bool_dealloc: deallocating
    True or False". Python 3.12+ makes these singletons immortal; here we give them the same
    protection by adding a huge constant to their reference counts (they are static objects,
    never freed, so this changes nothing else).
    """
    if _sys.version_info >= (3, 12) or not hasattr(_sys, "getrefcount"):
        return
    import ctypes

    for obj in (True, False, None):
        ref = ctypes.c_ssize_t.from_address(id(obj))  # ob_refcnt is the first field of PyObject
        if ref.value < 1 << 40:
            ref.value += 1 << 40


_pin_singletons()
