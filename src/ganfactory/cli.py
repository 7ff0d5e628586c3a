"""Thin command-line front: parses, calls the library, prints. Errors become one line and a non-zero exit."""

from __future__ import annotations

import logging
import os
import sys
import traceback

import click

from ganfactory import __version__
from ganfactory.errors import GanFactoryError
from ganfactory.operators.registry import register_all


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.option("--quiet", "-q", is_flag=True, help="Only warnings and errors.")
@click.version_option(__version__, prog_name="ganfactory")
def cli(debug: bool, quiet: bool) -> None:
    """Grow small image datasets with GANs."""
    if debug:
        os.environ["GANFACTORY_DEBUG"] = "1"
    level = logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(message)s", stream=sys.stderr, force=True)


register_all(cli)


def get_operator_command(name: str) -> click.Command:
    """The click command behind `ganfactory NAME` (the job queue parses submitted arguments with it)."""
    command = cli.commands.get(name)
    if command is None:
        raise GanFactoryError(f"Unknown operator '{name}'; run 'ganfactory --help' for the list.")
    return command


def _fail(message: str, code: int) -> int:
    click.echo(f"error: {message}", err=True)
    return code


def main(argv: list[str] | None = None) -> int:
    """Run the command line and turn every failure into one line on stderr."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args or os.environ.get("GANFACTORY_DEBUG") == "1"
    try:
        result = cli.main(args=args, prog_name="ganfactory", standalone_mode=False)
    except GanFactoryError as exc:
        if debug:
            traceback.print_exc()
        return _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, exc.exit_code)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        return _fail("aborted.", 130)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt:
        return _fail("interrupted.", 130)
    except Exception as exc:  # a bug: one line for users, the traceback with --debug
        if debug:
            traceback.print_exc()
        return _fail(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback).", 1)
    return result if isinstance(result, int) else 0


def run() -> None:
    sys.exit(main())
