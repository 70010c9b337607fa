"""The helpers the benches share (bench/harness.py): one percentile definition for all."""

import socket
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import harness  # noqa: E402


@pytest.mark.parametrize(
    ("fraction", "expected"),
    [(0.5, 20), (0.95, 100), (0.99, 100), (0.0, 5), (0.2, 5), (0.21, 10), (1.0, 100)],
)
def test_percentile_is_the_nearest_rank(fraction, expected):
    assert harness.percentile([100, 5, 20, 10, 30], fraction) == expected


def test_percentile_of_twenty_values_and_of_none():
    values = [float(n) for n in range(1, 21)]
    assert harness.percentile(values, 0.95) == 19.0  # not the maximum: 19 of 20 are ≤ 19
    assert harness.percentile(values, 0.5) == 10.0
    assert harness.percentile([], 0.95) == 0.0


def test_free_port_is_free_on_loopback():
    port = harness.free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
