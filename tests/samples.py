"""Where the shared sample files are.

The project's `shared/` folder sits beside the repository (`../shared`), in a session and in
CI alike; a copy of the samples is kept in `tests/data/samples` so the sample tests never skip.
"""

from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent
_CANDIDATES = (
    _REPO.parent / "shared" / "samples",
    Path("/work/shared/samples"),
    _REPO / "tests" / "data" / "samples",
)
SAMPLES = next(path for path in _CANDIDATES if (path / "survey-sample.xlsx").exists())
