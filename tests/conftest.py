"""Shared test settings: two threads (the CI machine has two cores) and deterministic torch."""

import torch

torch.set_num_threads(2)
