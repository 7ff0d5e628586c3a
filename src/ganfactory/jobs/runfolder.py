"""A submitted job's run folder and typed request, read from the operator's arguments through the operator's
own command (made from its spec by ganfactory.operators.command; the `ganfactory` CLI is not involved)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ganfactory.errors import GanFactoryError
from ganfactory.jobs.errors import JobError

log = logging.getLogger(__name__)


def operator_command(operator: str) -> Any:
    """The click command of `ganfactory OPERATOR`, made from the registered spec."""
    from ganfactory.operators.command import operator_command as command_of
    from ganfactory.operators.registry import get_operator

    try:
        return command_of(get_operator(operator))
    except GanFactoryError as exc:
        raise JobError(f"Unknown operator '{operator}'; run 'ganfactory --help' for the list.") from exc


def _parse(command: Any, *, operator: str, args: list[str]) -> dict[str, Any]:
    try:
        # resilient_parsing: read the values without running anything; the config is validated below.
        return dict(command.make_context(operator, list(args), resilient_parsing=True).params)
    except Exception as exc:  # click raises its own exception types; any of them means "cannot parse"
        raise JobError(
            f"Cannot read the arguments of '{operator}' ({exc}); check them with 'ganfactory {operator} --help'."
        ) from exc


def run_folder_from_command(command: Any, *, operator: str, args: list[str], cwd: Path) -> Path:
    """The absolute `out` folder that `command` would receive for `args` (relative paths against cwd)."""
    out = _parse(command, operator=operator, args=args).get("out")
    if out in (None, ""):
        raise JobError(
            f"The '{operator}' job has no output folder; give OUT as in 'ganfactory {operator} --help'."
        )
    folder = Path(str(out)).expanduser()
    return (folder if folder.is_absolute() else cwd / folder).resolve()


def resolve_run_folder(operator: str, args: list[str], *, cwd: Path) -> Path:
    """The run folder of `ganfactory OPERATOR ARGS...` when started in cwd."""
    return run_folder_from_command(operator_command(operator), operator=operator, args=args, cwd=cwd)


def _step_of(group: Any, *, operator: str, args: list[str]) -> tuple[Any, str, list[str]]:
    """(step command, `OPERATOR STEP`, the step's arguments) of a command line of an operator with steps."""
    from ganfactory.operators.command import queueable_steps

    queueable = queueable_steps(group)
    steps = ", ".join(queueable)
    if not args or args[0].startswith("-"):
        raise JobError(f"Name the step of '{operator}' to queue ({steps}), as in 'ganfactory {operator} STEP --help'.")
    command = queueable.get(args[0])
    if command is None:
        kind = "is not a step that can be queued (run it directly)" if args[0] in group.commands else "is no step"
        raise JobError(f"'{args[0]}' {kind} of '{operator}'; its queueable steps: {steps}.")
    return command, f"{operator} {args[0]}", list(args[1:])


def resolve_job(operator: str, args: list[str], *, cwd: Path) -> tuple[Path, dict[str, Any] | None]:
    """(run folder, typed request as JSON) of a submitted command line. The config is validated now, so a bad
    parameter is refused at submit (one sentence) instead of failing the job later. An operator whose command is
    a group of steps (`datasetgan train OUT ...`) is read through the step's command. A command that is not an
    operator's (no spec) is queued by its arguments alone (request None)."""
    command = operator_command(operator)
    if hasattr(command, "commands"):  # a click group: the first argument names the step
        command, operator, args = _step_of(command, operator=operator, args=args)
    folder = run_folder_from_command(command, operator=operator, args=args, cwd=cwd)
    if not hasattr(command, "request"):
        return folder, None
    request = command.request(_parse(command, operator=operator, args=args), cwd=cwd)
    return folder, request.to_json()
