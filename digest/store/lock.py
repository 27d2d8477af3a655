"""The store and output files on disk: the store lock, and OS/SQLite errors turned into one line of advice."""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from digest.errors import StoreError

log = logging.getLogger("digest.store")
_FULL = (errno.ENOSPC, errno.EDQUOT)
_DENIED = (errno.EROFS, errno.EACCES, errno.EPERM)


def storage_error(path: str | os.PathLike[str], exc: BaseException) -> StoreError:
    """A StoreError naming the file and what to do about a full disk, a read-only place or a corrupt store."""
    path = Path(path)
    text = " ".join(str(exc).split()) or type(exc).__name__
    low = text.lower()
    # Kept apart: the two numberings overlap (EACCES is SQLITE_FULL's 13, EPERM is SQLITE_ERROR's 1).
    os_code = exc.errno if isinstance(exc, OSError) else None
    db_code = getattr(exc, "sqlite_errorcode", None)
    if os_code in _FULL or db_code == sqlite3.SQLITE_FULL or "disk is full" in low or "no space" in low:
        return StoreError(f"{path}: the disk is full ({text}); free space on {path.parent} and run again")
    if (
        os_code in _DENIED
        or db_code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM)
        or "readonly" in low
        or "read-only" in low
        or "unable to open" in low
    ):
        return StoreError(
            f"{path}: cannot write here ({text}); make {path.parent} writable, or point "
            "store.path / output.dir somewhere that is"
        )
    if "already exists" in low:  # the migrations meet tables they did not make: another program's file
        return StoreError(
            f"{path}: not a digest store ({text}); move {path} aside or point store.path at another file"
        )
    if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
        return StoreError(
            f"{path}: the store is corrupt ({text}); move {path} aside and run again "
            "(a new store re-fetches and re-analyses)"
        )
    return StoreError(f"{path}: {type(exc).__name__}: {text}")


@contextmanager
def guarded(path: str | os.PathLike[str]) -> Iterator[None]:
    """Raise storage_error for any SQLite or OS error inside."""
    try:
        yield
    except (sqlite3.Error, OSError) as exc:
        raise storage_error(path, exc) from exc


@contextmanager
def store_lock(
    store_path: str | os.PathLike[str], *, timeout_s: float, poll_s: float = 0.2
) -> Iterator[None]:
    """OS-level exclusive lock next to the store (flock: released by the kernel if the process dies)."""
    lock_path = Path(f"{store_path}.lock")
    with guarded(lock_path):
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout_s
        said = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StoreError(
                        f"{lock_path}: another digest process holds the store lock; waited {timeout_s:g} s "
                        "(store.lock_timeout_s). Try again when it has finished."
                    ) from None
                if not said:
                    said = True
                    holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
                    log.warning(
                        "waiting for the store lock %s held by another digest run%s; waiting up to %g s "
                        "(store.lock_timeout_s)",
                        lock_path,
                        f" (pid {holder})" if holder else "",
                        timeout_s,
                    )
                threading.Event().wait(poll_s)  # not time.sleep: works under faketime too
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)  # who holds it, for the next waiter's message
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock
