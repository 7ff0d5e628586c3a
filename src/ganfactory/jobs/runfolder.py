"""Find a job's run folder (its `out` parameter) by parsing the operator's arguments like the CLI would."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ganfactory.jobs.errors import JobError

log = logging.getLogger(__name__)


def operator_command(operator: str) -> Any:
    """The (click-compatible) command behind `ganfactory OPERATOR`; imported late to keep workers light."""
    try:
        from ganfactory.cli import get_operator_command
    except ImportError as exc:
        raise JobError(
            f"The ganfactory command line cannot be loaded ({exc}); reinstall ganfactory to submit jobs."
        ) from exc
    try:
        return get_operator_command(operator)
    except LookupError as exc:
        raise JobError(f"Unknown operator '{operator}'; run 'ganfactory --help' for the list.") from exc


def run_folder_from_command(command: Any, *, operator: str, args: list[str], cwd: Path) -> Path:
    """The absolute `out` folder that `command` would receive for `args` (relative paths against cwd)."""
    try:
        # resilient_parsing: read the values without validating or running anything; the operator
        # itself reports bad arguments (exit 2) when the job runs.
        ctx = command.make_context(operator, list(args), resilient_parsing=True)
    except Exception as exc:  # click raises its own exception types; any of them means "cannot parse"
        raise JobError(
            f"Cannot read the arguments of '{operator}' ({exc}); check them with 'ganfactory {operator} --help'."
        ) from exc
    out = ctx.params.get("out")
    if out in (None, ""):
        raise JobError(
            f"The '{operator}' job has no output folder; give OUT as in 'ganfactory {operator} --help'."
        )
    folder = Path(str(out)).expanduser()
    return (folder if folder.is_absolute() else cwd / folder).resolve()


def resolve_run_folder(operator: str, args: list[str], *, cwd: Path) -> Path:
    """The run folder of `ganfactory OPERATOR ARGS...` when started in cwd."""
    return run_folder_from_command(operator_command(operator), operator=operator, args=args, cwd=cwd)
