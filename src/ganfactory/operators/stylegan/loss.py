"""StyleGAN2-ADA losses and regularisers as pure functions.

Non-saturating logistic loss for G and D, R1 on real images and the path-length regulariser, both
meant to be applied lazily (every `interval` minibatches, multiplied by the interval) with Adam
hyper-parameters corrected by `lazy_reg_adam_params`. The update step itself lives in the operator.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ganfactory.operators.stylegan.networks import Generator


def _softplus_terms(logits: Tensor, *, sign: float, transition: float) -> Tensor:
    """mean softplus(sign * logits); for a transitional D's [B, 2] logits (unconditional, projection) the
    projection's term is weighted by `transition`, as in Shahbazi et al. 2022."""
    logits = logits.float()
    loss = F.softplus(sign * logits[:, :1]).mean()
    if logits.shape[1] == 2:
        loss = loss + transition * F.softplus(sign * logits[:, 1:]).mean()
    return loss


def g_nonsaturating_loss(fake_logits: Tensor, *, transition: float = 1.0) -> Tensor:
    """G loss: softplus(-D(G(z))), averaged over the batch. fake_logits: [B, 1], or [B, 2] from a
    transitional D (unconditional + transition * conditional)."""
    return _softplus_terms(fake_logits, sign=-1.0, transition=transition)


def d_logistic_loss(real_logits: Tensor, fake_logits: Tensor, *, transition: float = 1.0) -> Tensor:
    """D loss: softplus(D(fake)) + softplus(-D(real)), each averaged over its batch ([B, 1] or [B, 2] logits,
    see g_nonsaturating_loss)."""
    return (_softplus_terms(fake_logits, sign=1.0, transition=transition)
            + _softplus_terms(real_logits, sign=-1.0, transition=transition))


def class_mismatch_loss(wrong_logits: Tensor) -> Tensor:
    """D's loss for real images scored under wrong labels: softplus(D(x, wrong class)) on the projection column
    (the last), i.e. such a pair is to be called fake. Only D takes it; G's loss is unchanged."""
    return F.softplus(wrong_logits.float()[:, -1]).mean()


def dual_projection_loss(class_scores: Tensor, labels: Tensor) -> Tensor:
    """Cross-entropy of D's class scores ([B, num_classes], Discriminator.forward_with_class_scores) against the
    labels ([B] integers): the classification term of the dual projection discriminator (Han et al. 2021,
    P2GAN). D takes it on real images, so its projection head learns the classes as a classifier does, from the
    first step; G takes it on its own images, so it is told which class each image should show before its images
    are good enough for D's real/fake output to say so."""
    return F.cross_entropy(class_scores.float(), labels.long())


def realness_logits(logits: Tensor) -> Tensor:
    """[B] logits that ADA's r_t and R1 read: the only column, or a transitional D's unconditional one (the
    transitional reference regularises and measures that output)."""
    return logits[:, 0]


def r1_penalty(real_logits: Tensor, real_images: Tensor, gamma: float) -> Tensor:
    """gamma / 2 * ||d D(x) / d x||^2 on real images, averaged over the batch.

    `real_images` must have requires_grad set before D (and any augmentation) ran on them. The
    gradient graph is kept (create_graph) so the penalty can be back-propagated into D. real_logits:
    [B, 1] or a transitional D's [B, 2] (the penalty reads the unconditional column).
    """
    (grads,) = torch.autograd.grad(
        outputs=realness_logits(real_logits).float().sum(), inputs=real_images, create_graph=True
    )
    return grads.float().square().sum(dim=[1, 2, 3]).mean() * (gamma / 2)


def path_length_penalty(
    fake_images: Tensor,
    ws: Tensor,
    pl_mean: Tensor,
    decay: float = 0.01,
    *,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """Path-length regulariser: (mean squared deviation of |J_w^T y| from its running mean, new mean).

    y is Gaussian noise scaled by 1/sqrt(pixels) so the lengths do not depend on the resolution.
    The returned penalty is unweighted (the paper weights it by 2 and the lazy interval); the new
    running mean is detached and should replace `pl_mean` in the caller's state.
    """
    h, w = fake_images.shape[2], fake_images.shape[3]
    noise = torch.randn(
        fake_images.shape, generator=generator, device=fake_images.device, dtype=torch.float32
    ) / math.sqrt(h * w)
    (grads,) = torch.autograd.grad(
        outputs=(fake_images.float() * noise).sum(), inputs=ws, create_graph=True
    )
    lengths = grads.float().square().sum(dim=2).mean(dim=1).sqrt()
    new_mean = pl_mean.detach().float().lerp(lengths.mean().detach(), decay)
    penalty = (lengths - new_mean).square().mean()
    return penalty, new_mean


def mode_seeking_penalty(images: Tensor, z: Tensor, *, eps: float = 1e-5) -> Tensor:
    """Mode-seeking term of Mao et al. 2019 (MSGAN), to add to G's loss: 1 / (d_img / d_z + eps).

    images [2P, C, H, W] and z [2P, z_dim]: sample i of the first half is paired with sample i of the second
    (same class). d_img is the mean absolute difference of the paired images, d_z that of their latents, each
    over the whole half: a generator that ignores z (one image per class) gets a large penalty, and the gradient
    pushes paired images apart in proportion to how far apart their latents are.
    """
    half = images.shape[0] // 2
    d_img = (images[:half].float() - images[half:2 * half].float()).abs().mean()
    d_z = (z[:half].float() - z[half:2 * half].float()).abs().mean()
    return 1.0 / (d_img / d_z + eps)


def lecam_penalty(real_logits: Tensor, fake_logits: Tensor, *, anchor_real: float, anchor_fake: float) -> Tensor:
    """LeCam regulariser of Tseng et al. 2021 ("Regularizing GANs under Limited Data"), to add to D's loss:
    mean(relu(D(real) - anchor_fake)^2) + mean(relu(anchor_real - D(fake))^2).

    The anchors are moving averages of D's mean outputs on real and fake images (`LeCamAnchors`). The term
    keeps D's real outputs from running above where its fake outputs have been and its fake outputs below where
    its real outputs have been, which bounds how far D can separate the two sets on few images. It is zero when
    D(real) <= anchor_fake and D(fake) >= anchor_real. real_logits, fake_logits: [B] (the realness logits).
    """
    real, fake = real_logits.float(), fake_logits.float()
    return F.relu(real - anchor_fake).square().mean() + F.relu(anchor_real - fake).square().mean()


class LeCamAnchors:
    """Exponential moving averages of D's mean output on real and on fake images (decay 0.99, as the paper's
    code uses); they start at the first batch's means."""

    def __init__(self, *, decay: float = 0.99) -> None:
        self.decay = decay
        self.real: float | None = None
        self.fake: float | None = None

    def update(self, real_logits: Tensor, fake_logits: Tensor) -> None:
        real, fake = float(real_logits.detach().float().mean()), float(fake_logits.detach().float().mean())
        self.real = real if self.real is None else self.decay * self.real + (1 - self.decay) * real
        self.fake = fake if self.fake is None else self.decay * self.fake + (1 - self.decay) * fake

    def state_dict(self) -> dict[str, float | None]:
        return {"real": self.real, "fake": self.fake, "decay": self.decay}

    def load_state_dict(self, state: dict[str, float | None]) -> None:
        self.real, self.fake = state["real"], state["fake"]
        decay = state.get("decay")
        self.decay = self.decay if decay is None else float(decay)


def lazy_reg_adam_params(
    lr: float, betas: tuple[float, float], interval: int | None
) -> tuple[float, tuple[float, float]]:
    """Adam lr and betas for a network whose regulariser runs every `interval` minibatches.

    The optimiser then steps (interval + 1) times per interval instead of once; with
    c = interval / (interval + 1) the lr becomes lr * c and the betas beta ** c, which keeps the
    effective step size and averaging horizon per minibatch unchanged.
    """
    if not interval:
        return lr, betas
    c = interval / (interval + 1)
    return lr * c, (betas[0] ** c, betas[1] ** c)


def mix_styles(
    G: Generator,
    z: Tensor,
    c: Tensor | None,
    *,
    prob: float,
    update_emas: bool = False,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Map z to ws and, with probability `prob`, switch to a second latent from a random layer on.

    One crossover layer is drawn for the whole batch, uniformly in [1, num_ws). The second latent
    uses the same labels and never updates w_avg.
    """
    ws = G.mapping(z, c, update_emas=update_emas)
    if prob <= 0:
        return ws
    draw = torch.rand([], generator=generator, device=z.device)
    if float(draw) >= prob:
        return ws
    cutoff = int(torch.randint(1, ws.shape[1], [], generator=generator, device=z.device))
    z2 = torch.randn(z.shape, generator=generator, device=z.device, dtype=z.dtype)
    ws2 = G.mapping(z2, c, update_emas=False)
    return torch.cat([ws[:, :cutoff], ws2[:, cutoff:]], dim=1)
