"""Which machine and GPU a worker runs on, recorded on the jobs it claims (workers on many machines)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess

NVIDIA_SMI_TIMEOUT_S = 10.0


def host_name() -> str:
    return socket.gethostname()


def gpu_names(*, visible: str | None = None) -> str | None:
    """The names of the CUDA GPUs this worker's jobs can see, joined with ", "; None without any.

    Asked of nvidia-smi rather than torch: initialising CUDA in the worker would hold GPU memory for as
    long as it runs, memory its jobs need. `visible`: CUDA_VISIBLE_DEVICES (indices or UUIDs) by default.
    """
    visible = os.environ.get("CUDA_VISIBLE_DEVICES") if visible is None else visible
    if visible is not None and visible.strip() in ("", "-1", "none", "NoDevFiles"):
        return None
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        done = subprocess.run([smi, "--query-gpu=index,uuid,name", "--format=csv,noheader"], capture_output=True,
                              text=True, timeout=NVIDIA_SMI_TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    gpus = [[part.strip() for part in line.split(",", 2)] for line in done.stdout.splitlines() if line.count(",") >= 2]
    if visible is not None:
        wanted = [item.strip() for item in visible.split(",") if item.strip()]
        gpus = [gpu for gpu in gpus if gpu[0] in wanted or any(gpu[1].startswith(w) for w in wanted if not w.isdigit())]
    names = [gpu[2] for gpu in gpus]
    return ", ".join(names) if names else None
