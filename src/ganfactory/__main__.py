"""`python -m ganfactory` (also what torchrun launches)."""

from ganfactory.cli import run

run()
