"""Pause Python's cyclic garbage collector while an import builds its big structures.

An import holds hundreds of thousands of small containers (typed rows, dicts of
wanted values, history snapshots) that are all alive until it ends and form no
reference cycles. The cyclic collector keeps re-scanning them: with 60,000 survey
rows it ran about two dozen full collections and took about 45 % of the import's
CPU time (docs/PERFORMANCE.md). Reference counting still frees everything as
usual; only the cycle scan waits until the import is over.

Re-entrant and thread-safe: the collector is re-enabled when the last paused
section ends, and only if it was enabled when the first one began.
"""

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
