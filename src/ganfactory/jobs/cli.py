"""`ganfactory jobs ...`: a thin click front over ganfactory.jobs.commands (parse, call, print).

Written with click, like ganfactory.cli, so that usage errors, --help and exit codes behave the same
as in every other command once the group is added with `cli.add_command(jobs_group, name="jobs")`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click

from ganfactory.jobs import commands
from ganfactory.jobs.worker import run_worker

home_option = click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Queue folder (default: $GANFACTORY_HOME or ~/.ganfactory).",
)
queue_option = click.option(
    "--queue",
    default=None,
    metavar="URL",
    help="A shared queue, postgresql://user@host/db (default: $GANFACTORY_QUEUE, else the SQLite file in --home).",
)
job_id_argument = click.argument("job_id", type=int, metavar="ID")


@click.group(name="jobs")
def jobs_group() -> None:
    """Queue training runs; workers finish them, even across crashes and reboots."""


@jobs_group.command(
    # Everything after OPERATOR is the operator's, even an option named like one of submit's.
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.option("--priority", type=int, default=0, show_default=True, help="Higher runs first.")
@click.option("--max-attempts", type=int, default=3, show_default=True,
              help="Runs that may fail before the job is marked failed.")
@click.option("--nproc", type=int, default=1, show_default=True,
              help="Processes (GPUs) on this machine; more than 1 runs the operator under torchrun.")
@click.option("--max-restarts", type=int, default=0, show_default=True,
              help="torchrun's own restarts within one attempt (with --nproc > 1).")
@click.option("--shards", type=int, default=None,
              help="Split generation into N jobs (the operator gets --shard K/N) that any workers run at once.")
@home_option
@queue_option
@click.argument("operator")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def submit(priority: int, max_attempts: int, nproc: int, max_restarts: int, shards: int | None, home: Path | None,
           queue: str | None, operator: str, args: tuple[str, ...]) -> None:
    """Queue `ganfactory OPERATOR ARGS...` (submit's options go before OPERATOR)."""
    options: dict[str, Any] = dict(priority=priority, max_attempts=max_attempts, nproc=nproc, max_restarts=max_restarts)
    if shards is not None:
        ids = commands.submit_shards(home, operator, list(args), shards=shards, queue=queue, **options)
        click.echo(f"queued jobs {', '.join(map(str, ids))} (shards 1-{shards} of {shards})")
        return
    job_id = commands.submit(home, operator, list(args), queue=queue, **options)
    click.echo(f"queued job {job_id}")


@jobs_group.command(name="list")
@home_option
@queue_option
def list_command(home: Path | None, queue: str | None) -> None:
    """Show every job with its progress, ETA and the machine (GPU) it runs on."""
    click.echo(commands.format_table(commands.list_jobs(home, queue)))


@jobs_group.command()
@job_id_argument
@home_option
@queue_option
def show(job_id: int, home: Path | None, queue: str | None) -> None:
    """Show one job: command, run folder, config, error and the end of its log."""
    click.echo(commands.format_details(commands.show(home, job_id, queue=queue)))


@jobs_group.command()
@job_id_argument
@home_option
@queue_option
def cancel(job_id: int, home: Path | None, queue: str | None) -> None:
    """Cancel a queued job, or have its worker stop a running one after a checkpoint."""
    job = commands.cancel(home, job_id, queue=queue)
    click.echo(f"job {job.id} " + ("will stop after saving a checkpoint" if job.cancel_requested else job.status.value))


@jobs_group.command()
@job_id_argument
@home_option
@queue_option
def retry(job_id: int, home: Path | None, queue: str | None) -> None:
    """Queue a failed or cancelled job again; it resumes from its latest checkpoint."""
    job = commands.retry(home, job_id, queue=queue)
    click.echo(f"job {job.id} {job.status.value}")


@jobs_group.command()
@job_id_argument
@click.option("--follow", "-f", is_flag=True, help="Keep printing until the job ends.")
@home_option
@queue_option
def logs(job_id: int, follow: bool, home: Path | None, queue: str | None) -> None:
    """Print a job's output, all attempts."""
    for line in commands.logs(home, job_id, follow=follow, queue=queue):
        click.echo(line)


@jobs_group.command()
@click.option("--max-jobs", type=int, default=None, help="Exit after this many jobs.")
@click.option("--poll", type=float, default=5.0, show_default=True, help="Seconds between looks at an empty queue.")
@click.option("--heartbeat", type=float, default=10.0, show_default=True,
              help="Seconds between heartbeats of a running job.")
@click.option("--stale-after", type=float, default=120.0, show_default=True,
              help="Requeue running jobs whose worker has been silent this long.")
@click.option("--stop-timeout", type=float, default=120.0, show_default=True,
              help="Seconds a job gets to save a checkpoint and exit when stopped.")
@click.option("--exit-when-idle", is_flag=True, help="Exit once no job is queued or running.")
@home_option
@queue_option
def worker(max_jobs: int | None, poll: float, heartbeat: float, stale_after: float, stop_timeout: float,
           exit_when_idle: bool, home: Path | None, queue: str | None) -> None:
    """Run queued jobs one at a time; SIGTERM or Ctrl-C stops the job after a checkpoint and requeues it."""
    logger = logging.getLogger("ganfactory")
    if not logger.handlers:  # ganfactory's main group normally sets its logger up already
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    ran = run_worker(home, max_jobs=max_jobs, poll=poll, heartbeat_every=heartbeat, stale_after=stale_after,
                     stop_timeout=stop_timeout, exit_when_idle=exit_when_idle, queue=queue)
    click.echo(f"worker ran {ran} job(s)")


def register(group: click.Group) -> None:
    group.add_command(jobs_group, name="jobs")
