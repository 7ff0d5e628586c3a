"""The style interpreter: an ensemble of pixel classifiers trained together with stacked weights.

Each member is the paper's MLP (Zhang et al. 2021; REFERENCES): Linear(C, h1)-ReLU-BatchNorm1d-
Linear(h1, h2)-ReLU-BatchNorm1d-Linear(h2, K), with (h1, h2) = (128, 32) below 32 classes, else (256, 128);
weights N(0, 0.02), batch-norm scales N(1, 0.02). The M members' weights are stacked on a leading member
dimension, so one batched matmul (torch.bmm) runs all members at once instead of M small ones in turn.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

INIT_STD = 0.02


def hidden_sizes(num_classes: int) -> tuple[int, int]:
    return (128, 32) if num_classes < 32 else (256, 128)


class StackedLinear(nn.Module):
    """M independent Linear layers: x [M, P, in] -> [M, P, out]."""

    def __init__(self, *, members: int, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(members, in_features, out_features) * INIT_STD)
        self.bias = nn.Parameter(torch.zeros(members, 1, out_features))

    def forward(self, x: Tensor) -> Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


class StackedBatchNorm(nn.Module):
    """M independent BatchNorm1d layers over the pixel dimension of x [M, P, F] (same maths as
    nn.BatchNorm1d per member: biased variance to normalise, unbiased for the running estimate)."""

    running_mean: Tensor  # buffers (register_buffer), declared for the type checker
    running_var: Tensor

    def __init__(self, *, members: int, features: int, momentum: float = 0.1, eps: float = 1e-5) -> None:
        super().__init__()
        self.momentum, self.eps = momentum, eps
        self.weight = nn.Parameter(1.0 + torch.randn(members, features) * INIT_STD)
        self.bias = nn.Parameter(torch.zeros(members, features))
        self.register_buffer("running_mean", torch.zeros(members, features))
        self.register_buffer("running_var", torch.ones(members, features))

    def forward(self, x: Tensor) -> Tensor:
        if self.training:
            var, mean = torch.var_mean(x, dim=1, correction=0)
            with torch.no_grad():
                count = x.shape[1]
                unbiased = var * (count / max(count - 1, 1))
                self.running_mean.lerp_(mean, self.momentum)
                self.running_var.lerp_(unbiased, self.momentum)
        else:
            mean, var = self.running_mean, self.running_var
        scale = self.weight * torch.rsqrt(var + self.eps)
        return torch.addcmul((self.bias - mean * scale)[:, None], x, scale[:, None])


class PixelEnsemble(nn.Module):
    """features [M, P, C] (each member its own pixels) or [P, C] (shared) -> logits [M, P, K]."""

    def __init__(self, *, in_features: int, num_classes: int, members: int) -> None:
        super().__init__()
        h1, h2 = hidden_sizes(num_classes)
        self.in_features, self.num_classes, self.members = in_features, num_classes, members
        self.fc1 = StackedLinear(members=members, in_features=in_features, out_features=h1)
        self.bn1 = StackedBatchNorm(members=members, features=h1)
        self.fc2 = StackedLinear(members=members, in_features=h1, out_features=h2)
        self.bn2 = StackedBatchNorm(members=members, features=h2)
        self.fc3 = StackedLinear(members=members, in_features=h2, out_features=num_classes)

    def forward(self, features: Tensor) -> Tensor:
        if features.ndim == 2:  # shared pixels (generation): one matmul against all members' first layers
            w = self.fc1.weight.permute(1, 0, 2).flatten(1)  # [C, M*h1]
            x = (features @ w).unflatten(1, (self.members, -1)).transpose(0, 1) + self.fc1.bias
        else:
            x = self.fc1(features)
        x = self.bn1(torch.relu(x))
        x = self.bn2(torch.relu(self.fc2(x)))
        return self.fc3(x)
