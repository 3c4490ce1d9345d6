"""The Qt binding in use must not leak references on Signal.emit (PySide6 6.12.0 does, and
CPython aborts after a few thousand emits on Python < 3.12)."""

import sys


def test_signal_emit_keeps_the_refcount_of_true(qapp):
    from PySide6.QtCore import QObject, Signal

    class Emitter(QObject):
        changed = Signal(int)

    emitter = Emitter()
    emitter.changed.connect(lambda value: None)
    before = sys.getrefcount(True)
    for i in range(2000):
        emitter.changed.emit(i)
    assert abs(sys.getrefcount(True) - before) < 100
