"""A fixed-capacity, thread-safe buffer that keeps the latest items (no torch, no Qt)."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from typing import Generic, TypeVar

ItemT = TypeVar("ItemT")


class RingBuffer(Generic[ItemT]):
    """Keeps the ``capacity`` most recent items; older ones are dropped on append.

    Every method takes one lock, so a worker thread may :meth:`append` while the GUI thread
    calls :meth:`latest` or :meth:`snapshot`. Items are stored by reference: writers must not
    mutate an item after appending it (recorders append fresh numpy arrays).
    """

    def __init__(self, capacity: int) -> None:
        if int(capacity) < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self._capacity = int(capacity)
        self._items: deque[ItemT] = deque(maxlen=self._capacity)
        self._lock = threading.Lock()
        self._appended = 0

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def total_appended(self) -> int:
        """How many items were ever appended (also counts the dropped ones)."""
        with self._lock:
            return self._appended

    def append(self, item: ItemT) -> None:
        with self._lock:
            self._items.append(item)
            self._appended += 1

    def extend(self, items: Iterable[ItemT]) -> None:
        for item in items:
            self.append(item)

    def latest(self) -> ItemT | None:
        """The most recent item, or None if the buffer is empty."""
        with self._lock:
            return self._items[-1] if self._items else None

    def snapshot(self) -> list[ItemT]:
        """A copy of the stored items, oldest first."""
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __repr__(self) -> str:
        return f"RingBuffer(capacity={self._capacity}, len={len(self)})"
