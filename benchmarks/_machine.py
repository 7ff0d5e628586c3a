"""What a benchmark ran on: CPU model, cores, threads, native bf16, and the load average (figures measured under
load are marked as such; ratios measured in one run are the figures to compare)."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch

from ganfactory.engine.precision import cpu_supports_bf16

BUSY_LOAD = 0.5  # a load average above this per core means other work shared the CPU


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what platform reports."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    busy = one > BUSY_LOAD * (os.cpu_count() or 1)
    note = " (under load: timings are unreliable, compare the ratios)" if busy else ""
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}{note}"


def describe(threads: int) -> str:
    """One line: CPU, cores, torch threads, native bf16, ISA torch dispatches to, load average."""
    return (f"CPU {cpu_model()}, {os.cpu_count()} cores, {threads} torch threads, native bf16: "
            f"{cpu_supports_bf16()}, ISA {torch.backends.cpu.get_cpu_capability()}, {load_average()}")
