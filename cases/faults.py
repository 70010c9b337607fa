"""Fault-injection points for the fault tests (tests/test_faults.py). Inert unless the environment asks.

`fault_point("crosscheck.written")` does nothing in normal operation. When the variable
`HUOQIU_FAULT_POINT` names this point, the process writes the file named by
`HUOQIU_FAULT_MARKER` (so a test knows the process is exactly there, in the middle of
its write transaction) and then sleeps up to `HUOQIU_FAULT_SLEEP` seconds (default 60),
giving the test time to kill it with SIGKILL. Nothing else reads these variables.
"""

import os
import time
from pathlib import Path

POINT_VARIABLE = "HUOQIU_FAULT_POINT"
MARKER_VARIABLE = "HUOQIU_FAULT_MARKER"
SLEEP_VARIABLE = "HUOQIU_FAULT_SLEEP"


def fault_point(name: str) -> None:
    if os.environ.get(POINT_VARIABLE) != name:
        return
    marker = os.environ.get(MARKER_VARIABLE)
    if marker:
        Path(marker).write_text(f"{os.getpid()} {name}\n", encoding="utf-8")
    time.sleep(float(os.environ.get(SLEEP_VARIABLE, "60")))
