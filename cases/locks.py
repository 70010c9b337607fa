"""Named locks held by a process, released by the database or the OS when the process dies.

`process_lock(name)` serialises work that must never interleave (two imports of the same
source, two in-process cross-checks) across threads, processes and hosts:

- PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) on a 64-bit key
  derived from the name, on this thread's connection. A process killed with -9 loses its
  connection and PostgreSQL drops the lock at once; nothing needs cleaning up.
- SQLite (development, one host): an exclusive `flock` on `VAR_DIR/locks/<name>.lock`;
  the kernel drops it when the process dies.

`wait=True` polls until the lock is free (or `timeout` seconds pass: `LockBusy`);
`wait=False` raises `LockBusy` at once. Not re-entrant: do not nest the same name.
"""

import fcntl
import hashlib
import os
import time
from contextlib import contextmanager, suppress
from pathlib import Path

from django.conf import settings
from django.db import connection


class LockBusy(RuntimeError):
    """The lock is held by someone else (and waiting was not asked for, or timed out)."""


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for PostgreSQL advisory locks."""
    digest = hashlib.blake2b(f"huoqiu:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _pg_try(key: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        return bool(cursor.fetchone()[0])


def _pg_release(key: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def is_locked(name: str) -> bool:
    """True when someone (another session or process) holds the lock right now."""
    try:
        with process_lock(name, wait=False):
            return False
    except LockBusy:
        return True


def _lock_path(name: str) -> Path:
    """One lock file per SQLite database and name. An in-memory database (tests) exists in
    one process only, so its locks only need to exclude the threads of this process."""
    database = str(connection.settings_dict.get("NAME") or "")
    if database == ":memory:" or "mode=memory" in database:
        database = f"memory-{os.getpid()}"
    folder = Path(settings.VAR_DIR) / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    safe = hashlib.blake2b(f"{database}|{name}".encode(), digest_size=12).hexdigest()
    return folder / f"{safe}.lock"


def _busy(name: str) -> LockBusy:
    return LockBusy(
        f"“{name}”正在被另一个进程使用，请稍后再试 / {name} is locked by another process"
    )


@contextmanager
def process_lock(name: str, *, wait: bool = True, timeout: float | None = None, poll: float = 0.2):
    deadline = None if timeout is None else time.monotonic() + timeout
    if connection.vendor == "postgresql":
        key = lock_key(name)
        while not _pg_try(key):
            if not wait or (deadline is not None and time.monotonic() >= deadline):
                raise _busy(name)
            time.sleep(poll)
        try:
            yield
        finally:
            # A broken connection has released the lock already.
            with suppress(Exception):
                _pg_release(key)
        return

    handle = os.open(_lock_path(name), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not wait or (deadline is not None and time.monotonic() >= deadline):
                    raise _busy(name) from None
                time.sleep(poll)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        os.close(handle)
