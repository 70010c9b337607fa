"""What every benchmark script does first: put the project on the path and set up Django.

Imported by the scripts as a sibling (`import harness`): they run as files
(`python bench/<name>.py`, or through `bench/run_all.py`), so `bench/` is on the path.
"""

import os
import resource
import sys
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
