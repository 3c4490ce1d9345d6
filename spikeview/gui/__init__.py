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
