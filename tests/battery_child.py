"""`python battery_child.py ARGS...` is `python -m ganfactory ARGS...` whose checkpoint write number BATTERY_HOLD_AT
(1-based, counted in this process) holds after its temporary file is complete, before the rename: it creates the file
BATTERY_MARKER and waits until BATTERY_RELEASE exists. The operator battery (operator_battery.py) signals the process
while it holds, so a SIGKILL lands mid-checkpoint and a SIGTERM at a known step, whatever the machine's speed.

A test helper, never imported by the tests: it runs as a script in a subprocess.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from ganfactory.cli import main
from ganfactory.engine import checkpoint

HOLD_LIMIT_S = 300  # a test that died without releasing or killing the child must not leave it running for ever


def hold_checkpoint_write(number: int, marker: Path, release: Path) -> None:
    """Make the `number`-th checkpoint write of this process pause once its temporary file is written."""
    write, calls = checkpoint._torch_save, []

    def held(state: dict[str, Any], tmp: Path, *, needed_bytes: int) -> None:
        write(state, tmp, needed_bytes=needed_bytes)
        calls.append(tmp)
        if len(calls) == number:
            marker.write_text(str(tmp), encoding="utf-8")
            deadline = time.monotonic() + HOLD_LIMIT_S
            while not release.exists() and time.monotonic() < deadline:
                time.sleep(0.01)  # a SIGTERM's handler runs here (it only sets the stop flag)

    checkpoint._torch_save = held  # looked up by name at each save, so the patch takes effect


if __name__ == "__main__":
    hold_checkpoint_write(int(os.environ["BATTERY_HOLD_AT"]), Path(os.environ["BATTERY_MARKER"]),
                          Path(os.environ["BATTERY_RELEASE"]))
    sys.exit(main(sys.argv[1:]))
