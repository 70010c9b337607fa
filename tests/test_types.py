"""mypy guards the service signatures: a call with a wrong argument type fails the check.

`make test` runs mypy over the services, selectors, rules and importing engine
(configured in pyproject.toml). This test proves that the configuration bites: a
small module calling a case-work service with a text where a date belongs must be
reported as an `arg-type` error, and the same call with a date must pass.
"""

import uuid
from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parent.parent

PROBE = """\
from datetime import date

from django.contrib.auth.models import User

from cases.casework import pairing_end
from cases.models import Pairing


def end_pairing(user: User, pairing: Pairing) -> None:
    pairing_end(user, pairing, ended_on={ended_on}, reason="结对结束")
"""


def _check(ended_on: str, cache_dir: Path) -> tuple[str, int]:
    # The probe lives in the project so mypy resolves `cases` and the Django plugin
    # finds the settings; a unique name keeps concurrent runs apart.
    probe = ROOT / f"_mypy_probe_{uuid.uuid4().hex}.py"
    probe.write_text(PROBE.format(ended_on=ended_on), encoding="utf-8")
    try:
        stdout, stderr, status = api.run(
            [
                "--config-file",
                str(ROOT / "pyproject.toml"),
                "--cache-dir",
                str(cache_dir),
                "--no-error-summary",
                str(probe),
            ]
        )
    finally:
        probe.unlink()
    assert not stderr, stderr
    return stdout, status


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # A cache of its own (shared by both checks) so a concurrent mypy run cannot
    # disturb it; a cold check of one module takes a few seconds.
    return tmp_path_factory.mktemp("mypy_cache")


def test_wrong_argument_type_to_a_service_fails(cache_dir: Path) -> None:
    stdout, status = _check('"2024-01-31"', cache_dir)
    assert status == 1, stdout
    assert "[arg-type]" in stdout, stdout
    assert 'Argument "ended_on" to "pairing_end" has incompatible type "str"' in stdout, stdout


def test_right_argument_type_passes(cache_dir: Path) -> None:
    stdout, status = _check("date(2024, 1, 31)", cache_dir)
    assert status == 0, stdout
