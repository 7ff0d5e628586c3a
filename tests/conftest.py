"""Shared test settings.

One torch thread: the test models are tiny, and two OpenMP threads on a two-core machine that is also
running a subprocess spend more time waiting on each other than computing (measured ~20x slower per step).
"""

import torch

torch.set_num_threads(1)
