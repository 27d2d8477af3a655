"""Atomic writes of the generated files: a reader never sees half a digest, index or feed."""

from __future__ import annotations

import contextlib
import glob
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from digest.store.lock import guarded

STALE_TEMP_S = 60.0


def atomic_write(path: Path, text: str, *, check: Callable[[Path], None] | None = None) -> None:
    """Write text to path atomically: temp file in the same directory, fsync, `check` it, rename, fsync dir."""
    path = Path(path)
    with guarded(path):  # an OSError, the temp file's cleanup done, becomes one line of advice
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_temps(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            if check is not None:
                check(Path(tmp))  # raises: the old file stays in place
            os.chmod(tmp, 0o644)  # mkstemp creates 0600; the digest is meant to be read
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    _fsync_dir(path.parent)


def _remove_stale_temps(path: Path) -> None:
    """Drop temp files a killed writer of `path` left behind (a minute old: never one being written now)."""
    cutoff = time.time() - STALE_TEMP_S
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        with contextlib.suppress(OSError):
            if stale.stat().st_mtime < cutoff:
                stale.unlink()


def _fsync_dir(directory: Path) -> None:
    # Makes the rename durable; not every platform lets a directory be opened.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
