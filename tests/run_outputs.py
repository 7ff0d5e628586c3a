"""Reading what a run wrote (files, manifest, its one-line error), for the operator tests of every operator."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path


def tree_digest(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under root; folders as 'dir' (catches added and removed entries)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(root.rglob("*"))}


def manifest_lines(run: Path) -> list[dict]:
    path = run / "output_0.manifest"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix in (".png", ".jpg"))


def assert_one_line_error(result: subprocess.CompletedProcess, code: int = 2) -> str:
    """Exit `code`, exactly one `error:` line on stderr (the last one), no traceback; returns the message."""
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == code, result.stderr[-3000:]
    assert len(errors) == 1 and result.stderr.rstrip().endswith(errors[0]), result.stderr[-3000:]
    assert "Traceback" not in result.stderr + result.stdout
    return errors[0]
