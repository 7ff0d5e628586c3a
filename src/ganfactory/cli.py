"""Thin command-line front: parses, calls the library, prints. Errors become one line and a non-zero exit."""

from __future__ import annotations

import errno
import logging
import os
import signal
import sys
import threading
import traceback

import click

from ganfactory import __version__, data_cli, demo
from ganfactory.console import cli as console_cli
from ganfactory.curation import cli as curate_cli
from ganfactory.errors import GanFactoryError
from ganfactory.export import cli as export_cli
from ganfactory.jobs import cli as jobs_cli
from ganfactory.metrics import cli as metrics_cli
from ganfactory.operators import generate_command
from ganfactory.operators.command import operator_commands
from ganfactory.operators.registry import all_operators


class _ConsoleHandler(logging.Handler):
    """Log lines on stderr that do not tear a running progress bar (tqdm.write moves the bar below them)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from tqdm import tqdm

            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # logging must never stop a run
            self.handleError(record)


def configure_logging(level: int) -> None:
    """Configure the `ganfactory` logger only: third-party loggers (onnx, torch.onnx) keep their own settings,
    so their INFO chatter stays off the console while their warnings still reach it."""
    logger = logging.getLogger("ganfactory")
    for handler in [h for h in logger.handlers if isinstance(h, _ConsoleHandler)]:
        logger.removeHandler(handler)
    handler = _ConsoleHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.option("--quiet", "-q", is_flag=True, help="Only warnings and errors.")
@click.version_option(__version__, prog_name="ganfactory")
def cli(debug: bool, quiet: bool) -> None:
    """Grow small image datasets with GANs."""
    if debug:
        os.environ["GANFACTORY_DEBUG"] = "1"
    configure_logging(logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO)


def _register_commands(group: click.Group) -> None:
    """The shared command modules add their commands; then every operator of the registry adds `ganfactory NAME`
    and the extra commands its spec declares. An operator's command may not replace a shared one (TypeError)."""
    for module in (data_cli, jobs_cli, export_cli, metrics_cli, demo, console_cli, curate_cli, generate_command):
        module.register(group)
    for command in operator_commands(all_operators()):
        if command.name in group.commands:
            raise TypeError(f"An operator declares the command '{command.name}', which ganfactory has already; "
                            "rename it.")
        group.add_command(command)


_register_commands(cli)


def get_operator_command(name: str) -> click.Command:
    """The click command behind `ganfactory NAME`."""
    command = cli.commands.get(name)
    if command is None:
        raise GanFactoryError(f"Unknown operator '{name}'; run 'ganfactory --help' for the list.")
    return command


class Terminated(BaseException):
    """SIGTERM outside a run (which saves and exits 75 itself): a BaseException, so click leaves it to main."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated()


_DISK_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)


def _fail(message: str, code: int) -> int:
    click.echo(f"error: {message}", err=True)
    return code


def main(argv: list[str] | None = None) -> int:
    """Run the command line and turn every failure into one line on stderr."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args or os.environ.get("GANFACTORY_DEBUG") == "1"
    on_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if on_main_thread else None
    try:
        result = cli.main(args=args, prog_name="ganfactory", standalone_mode=False)
    except GanFactoryError as exc:
        if debug:
            traceback.print_exc()
        return _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, exc.exit_code)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        return _fail("interrupted (Ctrl-C) before the command finished.", 130)
    except Terminated:
        return _fail("stopped by SIGTERM before the command finished.", 143)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except PermissionError as exc:  # the environment, not a bug: one sentence like any bad input
        if debug:
            traceback.print_exc()
        return _fail(f"permission denied for {exc.filename or 'a file'} ({exc.strerror}); choose a path you can "
                     "read and write, or fix its permissions.", 2)
    except OSError as exc:
        if debug:
            traceback.print_exc()
        if exc.errno in _DISK_ERRORS:  # a disk that fills up part-way, past the check made before the long part
            target = exc.filename2 or exc.filename or "a file"  # a copy names its source first, its target second
            return _fail(f"could not write {target} ({exc.strerror}); free some space or choose an output folder "
                         "on a writable disk, then run the same command again.", 2)
        return _fail(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback).", 1)
    except Exception as exc:  # a bug: one line for users, the traceback with --debug
        if debug:
            traceback.print_exc()
        return _fail(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback).", 1)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return result if isinstance(result, int) else 0


def run() -> None:
    sys.exit(main())
