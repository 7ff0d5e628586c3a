"""`ganfactory console`: serve the web console with uvicorn."""

from __future__ import annotations

from pathlib import Path

import click

from ganfactory.errors import ConfigError

PATH = click.Path(path_type=Path)


@click.command("console")
@click.option("--home", type=PATH, default=None,
              help="The jobs home folder [default: $GANFACTORY_HOME or ~/.ganfactory].")
@click.option("--queue", default=None, metavar="URL",
              help="A shared job queue, postgresql://user@host/db [default: $GANFACTORY_QUEUE, else the SQLite "
                   "file in --home].")
@click.option("--runs", "run_roots", type=PATH, multiple=True,
              help="A run folder, or a folder holding run folders (repeatable); the jobs' run folders are always "
                   "shown.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; any address but loopback requires the token for every request.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option("--token", default=None, envvar="GANFACTORY_CONSOLE_TOKEN",
              help="The access token [default: a new random one, printed at start].")
def console_command(home: Path | None, queue: str | None, run_roots: tuple[Path, ...], host: str, port: int,
                    token: str | None) -> None:
    """Open the web console: watch jobs, look at runs, curate generated images, paint DatasetGAN masks."""
    try:
        import uvicorn

        from ganfactory.console.app import create_app
        from ganfactory.console.settings import ConsoleSettings, new_token
    except ImportError as exc:
        raise ConfigError(f"The console needs its extra packages ({exc.name} is missing); install them with "
                          "\"pip install 'ganfactory[console]'\".") from None
    for root in run_roots:
        if not root.is_dir():
            raise ConfigError(f"--runs {root} is not a folder; give a run folder or a folder of runs.")
    if token is not None and len(token) < 8:
        raise ConfigError("--token must be at least 8 characters long; leave it out to get a random one.")
    settings = ConsoleSettings(home=home, run_roots=tuple(run_roots), host=host, port=port, token=token or new_token(),
                               queue=queue)
    app = create_app(settings)
    app.state.console.queue  # noqa: B018 -- open the queue now: a bad --home is one line here, not an error page later
    click.echo(f"ganfactory console: {settings.url(with_token=not settings.loopback)}")
    if settings.loopback:
        click.echo("Listening on this machine only; state-changing requests carry the token the pages hold.")
    else:
        click.echo(f"Listening on {host}: every request needs the token above (it is set as a cookie on first use).")
    uvicorn.run(app, host=host, port=port, log_level="warning")


def register(group: click.Group) -> None:
    group.add_command(console_command)
