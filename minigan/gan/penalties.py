"""Gradient penalties: regularisers of a critic's (or discriminator's) gradient in its input.

**WGAN-GP** (Gulrajani et al. 2017). The Wasserstein critic must be 1-Lipschitz. A
differentiable f is 1-Lipschitz exactly when ||grad f(x)|| <= 1 everywhere, and the
optimal critic has ||grad f|| = 1 almost everywhere on the segments between the
real and generated samples that the optimal transport pairs up. So instead of
clipping weights, the critic's loss gets a soft constraint on those segments:

    x_hat = eps x + (1 - eps) x_g,           eps ~ U[0, 1], one per example,
    GP = lambda E[(||grad_x f(x_hat)|| - 1)^2],

with x a real sample, x_g a generated one, ||.|| the Euclidean norm of each
example's gradient over all its axes (pixels and channels together), and
lambda = 10 in the paper. The penalty is a function of a gradient, so training on it
needs the gradient of a gradient: grad_x f is taken with ``create_graph=True``,
and every op on the way has a backward written in Tensor ops, so the second
derivative is exact. Nothing here has a hand-written gradient.

The critic must treat examples independently (no batch norm; layer norm is
fine): f(x_hat).sum() then has the gradient grad f(x_hat_i) in example i.

The penalty is soft. Where the interpolates are sparse, a slope above 1 gains the
critic more than it costs: in one dimension the best slope at x is
1 + |F_g(x) - F_data(x)| / (2 lambda rho(x)), rho the density of the interpolates, so
the critic's estimate of W1 overshoots by O(1/lambda) (about 10% at lambda = 10 on
the Gaussians of ``tests/test_wasserstein_theory.py``, 1% at lambda = 100).

``one_sided=True`` penalises only gradients longer than 1,
lambda E[max(0, ||g|| - 1)^2], which is the Lipschitz constraint itself (a
1-Lipschitz f may be flatter). Gulrajani et al. preferred the two-sided form, since
the optimal critic has unit gradients almost everywhere between the two
distributions anyway; Petzka et al. (2018) argue for the one-sided one. It matters
in one dimension: there a unit gradient is +1 or -1, and the two-sided penalty
charges up to lambda for every slope in between, so a critic that starts sloping the
wrong way somewhere can stay stuck in a local minimum; in two or more dimensions a
gradient can turn round on the unit sphere instead.

**R1** (Mescheder et al. 2018). The penalty on real data only,

    R1 = gamma / 2 E_data[||grad_x D(x)||^2],

pushes the discriminator towards zero gradient on the data, which makes the
game converge locally; it is squared, so it needs no square root.
"""
import math

from minigan import backend
from minigan.autograd import Tensor, grad
from minigan.creation import rand
from minigan.gan.losses import _FLOATS
from minigan.ops import mean, relu, sqrt
from minigan.ops.elementwise import as_tensor

# Added under the square root of ||g||^2. sqrt's derivative 1 / (2 sqrt(s)) is infinite
# at s = 0, and 0 * inf = nan: a critic that is flat at some x_hat (a ReLU net with every
# unit off there, or zero weights) would turn the whole gradient into nan. With the
# floor the derivative stays finite, and ||g|| changes by at most 1e-6, nothing against
# the distance ||g|| - 1 that the penalty measures.
_NORM_FLOOR = 1e-12


def _batch(penalty, name, x):
    """A batch the penalty differentiates in: a float Tensor (N, ...) with N >= 1."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{penalty}: {name} must be a Tensor, got {type(x).__name__}")
    if x.dtype not in _FLOATS:
        raise TypeError(f"{penalty}: {name} must be float32 or float64 (a gradient in it is "
                        f"taken), got dtype {x.dtype}; convert it with .float()")
    if x.ndim == 0 or x.shape[0] == 0:
        raise ValueError(f"{penalty}: {name} must be a non-empty batch (N, ...), got shape "
                         f"{x.shape}")


def _weight(penalty, name, value):
    """A penalty's weight: a finite number >= 0 (a negative one would reward steep critics)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TypeError(f"{penalty}: {name} must be a finite number, got {value!r}")
    if value < 0:
        raise ValueError(f"{penalty}: {name} must be >= 0, got {value}")
    return float(value)


def _squared_norms(gradient):
    """||g_i||^2 for each example i: the sum of squares over every non-batch axis."""
    return (gradient * gradient).sum(axis=tuple(range(1, gradient.ndim)))


def gradient_penalty(critic, real, fake, weight=10.0, eps=None, one_sided=False):
    """WGAN-GP's penalty lambda E[(||grad f(x_hat)|| - 1)^2] (see the module docstring).

    Args:
        critic: a callable (a Module) from a batch of samples to scores (N, 1) or (N,).
        real, fake: batches of the same shape (N, ...). They are used as constants
            (detached): the penalty trains the critic only.
        weight: lambda, 10 in Gulrajani et al.
        eps: the interpolation coefficients, shape (N,) or broadcastable to real;
            drawn from U[0, 1], one per example, when None (give them to test).
        one_sided: penalise only gradients longer than 1, lambda E[max(0, ||g|| - 1)^2]
            (see the module docstring).

    Returns a scalar Tensor, differentiable in the critic's parameters.

    >>> penalty = gradient_penalty(critic, real, fake.detach())
    >>> loss = critic_loss_wasserstein(critic(real), critic(fake.detach())) + penalty
    """
    _batch("gradient_penalty", "real", real)
    _batch("gradient_penalty", "fake", fake)
    if real.shape != fake.shape or real.dtype != fake.dtype:
        raise ValueError(f"gradient_penalty: real {real.shape} {real.dtype} and fake "
                         f"{fake.shape} {fake.dtype} must have the same shape and dtype")
    weight = _weight("gradient_penalty", "weight", weight)
    per_example = (real.shape[0],) + (1,) * (real.ndim - 1)
    if eps is None:
        eps = rand(per_example, dtype=real.dtype)
    else:
        eps = as_tensor(eps, real, "gradient_penalty").detach()
        if eps.ndim == 1 and eps.shape[0] == real.shape[0]:
            eps = eps.reshape(per_example)
        elif eps.ndim != real.ndim or any(e not in (1, r) for e, r in zip(eps.shape, real.shape)):
            raise ValueError(f"gradient_penalty: eps of shape {eps.shape} must be (N,) = "
                             f"({real.shape[0]},) or broadcast to real's {real.shape}")
        # x_hat must lie on the segment between x and x_g: eps outside [0, 1] would
        # extrapolate, where the optimal critic's gradient says nothing.
        low, high = backend.value_range(eps.data)
        if not (low >= 0 and high <= 1):
            raise ValueError(f"gradient_penalty: eps must lie in [0, 1], got values from {low} "
                             f"to {high}")
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).detach().requires_grad_()
    (gradient,) = grad(critic(x_hat).sum(), x_hat, create_graph=True)
    norms = sqrt(_squared_norms(gradient) + _NORM_FLOOR)
    excess = relu(norms - 1) if one_sided else norms - 1
    return weight * mean(excess ** 2)


def r1_penalty(critic_or_logits, real, gamma=10.0):
    """R1 = gamma / 2 E_data[||grad_x D(x)||^2], the gradient penalty on real data.

    Args:
        critic_or_logits: the discriminator (a callable, run here on a detached copy
            of ``real``), or its outputs on ``real`` already computed, to save a forward
            pass; then ``real`` must be the tensor they were computed from, with
            requires_grad=True.
        real: a batch of data (N, ...).
        gamma: the weight (10 for StyleGAN on FFHQ; it depends on the data).

    Returns a scalar Tensor, differentiable in the discriminator's parameters.

    >>> real.requires_grad_()
    >>> logits = netD(real)
    >>> loss = discriminator_loss(logits, netD(fake)) + r1_penalty(logits, real, gamma=10)
    """
    _batch("r1_penalty", "real", real)
    gamma = _weight("r1_penalty", "gamma", gamma)
    if isinstance(critic_or_logits, Tensor):
        if not real.requires_grad:
            raise ValueError("r1_penalty: given logits, real must be the tensor they were "
                             "computed from, with requires_grad=True")
        logits = critic_or_logits
    else:
        real = real.detach().requires_grad_()
        logits = critic_or_logits(real)
    (gradient,) = grad(logits.sum(), real, create_graph=True)
    return (0.5 * gamma) * mean(_squared_norms(gradient))
