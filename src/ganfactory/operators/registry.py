"""Commands register themselves here: a new operator is a new folder plus one line below."""

from __future__ import annotations

import importlib

import click

# Each module exposes `register(group: click.Group) -> None`.
COMMAND_MODULES = (
    "ganfactory.data.cli",
    "ganfactory.operators.stylegan.cli",
    "ganfactory.operators.cyclegan.cli",
    "ganfactory.jobs.cli",
    "ganfactory.export.cli",
    "ganfactory.metrics.cli",
    "ganfactory.demo",
)


def register_all(group: click.Group) -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # not written yet in this checkout; the others still work
                continue
            raise
        module.register(group)
