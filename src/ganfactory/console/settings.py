"""What one console server was started with: where the queue and the runs are, where it listens, its token."""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass, field
from pathlib import Path

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and 'localhost': only this machine can connect."""
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class ConsoleSettings:
    """home: the job queue's home folder (None: $GANFACTORY_HOME or ~/.ganfactory).
    run_roots: folders that are run folders or hold run folders (one or two levels down).
    token: required by every state-changing request, and by every request when `host` is not loopback.
    poll_ms: how often live parts of a page refresh themselves.
    queue: a shared queue's postgresql:// URL (None: $GANFACTORY_QUEUE, else the SQLite file in `home`)."""

    home: Path | None = None
    run_roots: tuple[Path, ...] = ()
    host: str = "127.0.0.1"
    port: int = 8080
    token: str = field(default_factory=new_token)
    poll_ms: int = 2000
    page_size: int = 200  # gallery images per page
    mask_max_bytes: int = 8 * 1024 * 1024
    queue: str | None = None

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    def url(self, *, with_token: bool) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        base = f"http://{host}:{self.port}/"
        return f"{base}?token={self.token}" if with_token else base
