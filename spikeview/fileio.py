"""Writing files atomically: a temporary file in the target's folder, then ``os.replace``.

A crash or an error leaves either the old file or nothing under the final name, never a
half-written one, which is what lets batches resume by skipping finished outputs.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

# mkstemp creates 0600 files; finished outputs get the permissions of any file the user makes.
_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a hidden temporary path next to ``target``; move it onto ``target`` when the
    block succeeds, delete it when the block raises. ``suffix`` lets writers that pick a
    format from the extension (OpenCV) see the right one."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    with atomic_path(path) as tmp, tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return Path(path)


def write_text_atomic(path: str | os.PathLike, text: str, newline: str | None = None) -> Path:
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8", newline=newline) as f:
        f.write(text)
    return Path(path)
