"""What every benchmark script does first: put the project on the path and set up Django.

Imported by the scripts as a sibling (`import harness`): they run as files
(`python bench/<name>.py`, or through `bench/run_all.py`), so `bench/` is on the path.
"""

import math
import os
import resource
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def setup_django() -> None:
    """Django in this process, with tasks in-process (no broker), like `bench/run_all.py`."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huoqiu.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijkl")
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()


def peak_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def free_port() -> int:
    """A loopback port nobody listens on now, for a server the bench starts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (the smallest value with at least `fraction` of the
    values at or below it), in the values' own unit; 0.0 for no values. Every bench
    reports p50/p95/p99 this way, so their figures compare."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]
