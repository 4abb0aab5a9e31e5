"""The improved techniques of Salimans et al. (2016) and the minibatch standard deviation.

"Improved techniques for training GANs" (Salimans, Goodfellow, Zaremba, Cheung, Radford and
Chen, 2016) lists changes to the game that make it less likely to collapse or wander. Each is a
loss, a penalty or a layer, built here from minigan's ops (no hand-written backward), so
every one is differentiable to any order:

* ``feature_matching_loss``: G matches the mean of D's intermediate features on real data
  instead of maximising D's output,  || E_data f(x) - E_z f(G(z)) ||^2.
* ``MinibatchDiscrimination``: D's layer sees how close each sample is to the others of its
  batch, so a collapsed batch (every sample alike) is easy to spot.
* ``minibatch_stddev`` / ``MinibatchStdDev`` (Karras et al. 2018, progressive GANs): the
  cheaper descendant; one extra feature, the features' standard deviation over the batch.
* ``HistoricalAverage``: a penalty || theta - mean of past theta ||^2 on each player.
* ``smoothed_discriminator_loss``: one-sided label smoothing (real targets alpha < 1, fake
  targets 0); two-sided smoothing (fake targets beta > 0) is possible and is shown harmful.
* ``virtual_batch_norm`` / ``VirtualBatchNorm``: batch norm whose statistics come from a
  fixed reference batch (plus the example itself), so one example's output does not depend
  on the others drawn with it.

**Layout.** The layers and losses take features laid out as (..., N, F): N examples of F
features, with any leading axes kept apart. A leading axis of copies (``minigan.gan.stacked``,
S networks trained side by side) is such an axis: nothing mixes across it, and a loss returns
the *sum* over the copies of each copy's loss, as a stack is trained. Images go through
``flatten`` first.
"""
import math

import numpy

from minigan import backend, ops
from minigan.autograd import Tensor
from minigan.creation import zeros
from minigan.nn.module import Module, Parameter

_FLOATS = (numpy.dtype(numpy.float32), numpy.dtype(numpy.float64))


def _features(op, name, x, min_examples=1):
    """Refuse anything but a float Tensor laid out (..., N, F) with N >= ``min_examples``."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(x).__name__}")
    if x.dtype not in _FLOATS:
        raise TypeError(f"{op}: {name} must be float32 or float64, got dtype {x.dtype}")
    if x.ndim < 2:
        raise ValueError(f"{op}: {name} must have shape (..., N, F), N examples of F "
                         f"features, got shape {x.shape}")
    if x.shape[-2] < min_examples or x.shape[-1] < 1:
        raise ValueError(f"{op}: {name} of shape {x.shape} has {x.shape[-2]} example(s) of "
                         f"{x.shape[-1]} feature(s); it needs at least {min_examples} "
                         f"example(s) and 1 feature")
    return x


def _probability(op, name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not 0 <= value <= 1 or math.isnan(value):
        raise ValueError(f"{op}: {name} must be a number in [0, 1], got {value!r}")
    return float(value)


# --- feature matching ------------------------------------------------------------------------
def feature_matching_loss(real_features, fake_features):
    """G's feature matching loss: || mean_i f(x_i) - mean_j f(G(z_j)) ||^2.

    Salimans et al.'s Section 3.1: G no longer maximises D's output but matches the expected
    value of the features f on an intermediate layer of D (D itself is trained as usual).
    The real features carry no gradient to G; pass them detached so that no gradient reaches
    D either.

    Args:
        real_features: (..., N, F) features of real examples.
        fake_features: (..., M, F) features of generated ones; M may differ from N, and the
            leading axes (copies of a stack) must match.

    Returns a scalar Tensor: the squared distance between the two means, summed over the
    leading axes. It is 0 when the means agree, whatever else differs (a G matching only
    the first moment of f is not penalised for the rest).

    >>> feature_matching_loss(minigan.tensor([[1., 0.], [3., 0.]]),
    ...                       minigan.tensor([[0., 1.]])).item()
    5.0
    """
    op = "feature_matching_loss"
    _features(op, "real_features", real_features)
    _features(op, "fake_features", fake_features)
    if real_features.shape[:-2] != fake_features.shape[:-2] or \
            real_features.shape[-1] != fake_features.shape[-1]:
        raise ValueError(f"{op}: real_features {real_features.shape} and fake_features "
                         f"{fake_features.shape} must share their leading axes and their "
                         f"feature count F (the last axis)")
    difference = real_features.mean(axis=-2) - fake_features.mean(axis=-2)
    return (difference * difference).sum()


# --- minibatch discrimination ----------------------------------------------------------------
def minibatch_features(x, tensor):
    """Salimans et al.'s minibatch features o(x_i) of every example of a batch.

        M_i = x_i T                     (B rows of C numbers: T is (A, B C))
        c_b(x_i, x_j) = exp(-|| M_i,b - M_j,b ||_1)
        o(x_i)_b = sum_{j != i} c_b(x_i, x_j)

    The paper sums over all j, including j = i, whose term is always exp(0) = 1; it is left
    out here, so a batch of one example has o = 0 and o counts the *other* examples close to
    x_i (up to N - 1, when all N coincide).

    Args:
        x: (..., N, A) features; leading axes (copies) are kept apart.
        tensor: T of shape (..., A, B, C) (leading axes as x's, or none).

    Returns (..., N, B).
    """
    op = "minibatch_features"
    _features(op, "x", x)
    if not isinstance(tensor, Tensor) or tensor.ndim < 3 or tensor.shape[-3] != x.shape[-1]:
        raise ValueError(f"{op}: tensor must be a Tensor of shape (..., A, B, C) with A = "
                         f"{x.shape[-1]}, x's features; got "
                         f"{getattr(tensor, 'shape', type(tensor).__name__)}")
    a, b, c = tensor.shape[-3:]
    rows = x @ tensor.reshape(*tensor.shape[:-3], a, b * c)           # (..., N, B C)
    rows = rows.reshape(*rows.shape[:-1], b, c)                       # (..., N, B, C)
    # (..., N, 1, B, C) - (..., 1, N, B, C): every pair (i, j). The diagonal difference is
    # exactly 0 whatever x is, so the kink of |.| at 0 never moves a gradient.
    distances = (rows.unsqueeze(-3) - rows.unsqueeze(-4)).abs().sum(axis=-1)   # (..., N, N, B)
    return (-distances).exp().sum(axis=-2) - 1.0


class MinibatchDiscrimination(Module):
    """[x, o(x)]: the input's features with the minibatch features appended, (..., N, A + B).

    ``kernels`` B and ``kernel_dim`` C as in the paper (B = 100, C = 5 there); T is drawn
    from N(0, 0.1^2). ``copies`` > 0 gives each copy of a stack its own T, for inputs
    (copies, N, A).

    >>> MinibatchDiscrimination(8, kernels=4, kernel_dim=3)(minigan.randn(16, 8)).shape
    (16, 12)
    """

    def __init__(self, in_features, kernels=16, kernel_dim=8, copies=0):
        super().__init__()
        for name, value in (("in_features", in_features), ("kernels", kernels),
                            ("kernel_dim", kernel_dim)):
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise ValueError(f"MinibatchDiscrimination: {name} must be a whole number "
                                 f">= 1, got {value!r}")
        lead = (copies,) if copies else ()
        self.in_features, self.kernels, self.kernel_dim = in_features, kernels, kernel_dim
        self.tensor = Parameter(zeros(*lead, in_features, kernels, kernel_dim))
        self.tensor.data[...] = 0.1 * backend.rng().standard_normal(self.tensor.shape,
                                                                   dtype=self.tensor.dtype)

    def forward(self, x):
        return ops.concatenate([x, minibatch_features(x, self.tensor)], axis=-1)

    def extra_repr(self):
        return (f"in_features={self.in_features}, kernels={self.kernels}, "
                f"kernel_dim={self.kernel_dim}")


# --- minibatch standard deviation ------------------------------------------------------------
def minibatch_stddev(x, eps=1e-8):
    """Karras et al.'s minibatch standard deviation, appended as one more feature.

        s = mean over features f of sqrt(Var_i[x_if] + eps),
        Var_i[x_if] = (1/N) sum_i (x_if - mean_i x_if)^2      (the biased, 1/N, variance)

    One number per batch (per copy of a stack), added to every example as feature F + 1. A
    batch of identical examples has s = sqrt(eps), about 0; real batches have their spread.
    The variance is over the batch axis, the second to last, never over the features. The
    paper computes it within groups of 4 examples; here the group is the whole batch.

    Args:
        x: (..., N, F), N >= 1.

    Returns (..., N, F + 1).

    >>> minibatch_stddev(minigan.tensor([[0., 1.], [2., 1.]])).numpy().round(4)
    array([[0. , 1. , 0.5],
           [2. , 1. , 0.5]], dtype=float32)
    """
    _features("minibatch_stddev", "x", x)
    std = (x.var(axis=-2, keepdims=True, correction=0) + eps).sqrt()   # (..., 1, F)
    s = std.mean(axis=-1, keepdims=True)                               # (..., 1, 1)
    return ops.concatenate([x, s.broadcast_to(x.shape[:-1] + (1,))], axis=-1)


class MinibatchStdDev(Module):
    """The layer form of :func:`minibatch_stddev`: (..., N, F) -> (..., N, F + 1)."""

    def __init__(self, eps=1e-8):
        super().__init__()
        self.eps = eps

    def forward(self, x):
        return minibatch_stddev(x, self.eps)


# --- historical averaging --------------------------------------------------------------------
class HistoricalAverage:
    """Salimans et al.'s historical averaging: a penalty on straying from the past average.

        penalty = sum over parameters of || theta - (1/t) sum_{i=1}^{t} theta[i] ||^2

    theta[i] being the parameters after the i-th update. The running mean is a constant of
    the penalty (no gradient flows into the past), so the penalty's gradient is
    2 (theta - average): it pulls each player back towards where it has been, damping the
    orbits of a game that circles its equilibrium (their Section 3.3).

    >>> history = HistoricalAverage(netD)
    >>> loss_d = loss_d + 0.1 * history.penalty()   # before the step
    >>> ...; optD.step(); history.update()           # after it
    """

    def __init__(self, module):
        self.module = module
        self.count = 0
        self.averages = {name: p.data.copy() for name, p in module.named_parameters()}

    def update(self):
        """Add the module's current parameters to the running mean (call after each step)."""
        self.count += 1
        for name, p in self.module.named_parameters():
            average = self.averages[name]
            average += (p.data - average) / self.count

    def penalty(self):
        """sum ||theta - average||^2 over the parameters, a scalar Tensor (0 before updates
        move the parameters away from their starting values, which the average begins at)."""
        total = None
        for name, p in self.module.named_parameters():
            difference = p - Tensor(self.averages[name])
            term = (difference * difference).sum()
            total = term if total is None else total + term
        return total

    def state_dict(self):
        return {"count": self.count, "averages": {k: backend.to_numpy(v).copy()
                                                  for k, v in self.averages.items()}}

    def load_state_dict(self, state):
        self.count = int(state["count"])
        self.averages = {k: backend.asarray(v) for k, v in state["averages"].items()}


# --- label smoothing -------------------------------------------------------------------------
def smoothed_discriminator_loss(real_logits, fake_logits, real_label=0.9, fake_label=0.0):
    """D's cross-entropy with soft targets: real examples labelled alpha, fakes beta.

        L_D = -E_data[alpha log D + (1 - alpha) log(1 - D)]
              - E_g[beta log D + (1 - beta) log(1 - D)]

    with log D = -softplus(-a), log(1 - D) = -softplus(a) from the logits a. alpha = 1,
    beta = 0 is the plain loss. Pointwise its minimiser is
    D*(x) = (alpha p_data + beta p_g) / (p_data + p_g)
    (``theory.smoothed_optimal_discriminator``). Salimans et al. smooth only the real labels
    (one-sided, beta = 0): with beta > 0, D* stays at beta where there is no data, and G's
    fakes there are no longer pushed towards the data.
    """
    op = "smoothed_discriminator_loss"
    for name, logits in (("real_logits", real_logits), ("fake_logits", fake_logits)):
        if not isinstance(logits, Tensor) or logits.dtype not in _FLOATS or logits.size == 0:
            raise TypeError(f"{op}: {name} must be a non-empty float Tensor, got "
                            f"{getattr(logits, 'shape', type(logits).__name__)}")
    alpha = _probability(op, "real_label", real_label)
    beta = _probability(op, "fake_label", fake_label)
    real = alpha * ops.softplus(-real_logits) + (1 - alpha) * ops.softplus(real_logits)
    fake = beta * ops.softplus(-fake_logits) + (1 - beta) * ops.softplus(fake_logits)
    return real.mean() + fake.mean()


# --- virtual batch norm ----------------------------------------------------------------------
def virtual_batch_norm(x, reference, weight=None, bias=None, eps=1e-5):
    """Normalise each example by the statistics of a reference batch *and itself*.

        mu_i = (R mu_ref + x_i) / (R + 1)
        var_i = (R (var_ref + (mu_ref - mu_i)^2) + (x_i - mu_i)^2) / (R + 1)
        y_i = (x_i - mu_i) / sqrt(var_i + eps) * weight + bias

    the mean and (biased) variance of the R + 1 rows {reference rows, x_i}, per feature.
    Salimans et al.'s Section 3.4: batch norm makes one example's output depend on the
    others drawn with it; here it depends only on a reference batch chosen once at the
    start. The reference's statistics keep their graph (the reference goes through the same
    layers each step), so gradients reach the weights through them too.

    Args:
        x: (..., N, F); reference: (..., R, F), R >= 1, the same leading axes and F.
        weight, bias: (F,) Tensors, or None (1 and 0).

    Returns (..., N, F).
    """
    op = "virtual_batch_norm"
    _features(op, "x", x)
    _features(op, "reference", reference)
    if reference.shape[:-2] != x.shape[:-2] or reference.shape[-1] != x.shape[-1]:
        raise ValueError(f"{op}: reference {reference.shape} must share x's {x.shape} leading "
                         f"axes and feature count")
    r = reference.shape[-2]
    mu_ref = reference.mean(axis=-2, keepdims=True)
    var_ref = reference.var(axis=-2, keepdims=True, correction=0)
    mu = (mu_ref * r + x) * (1.0 / (r + 1))
    offset = mu_ref - mu
    centred = x - mu
    var = ((var_ref + offset * offset) * r + centred * centred) * (1.0 / (r + 1))
    y = centred / (var + eps).sqrt()
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


class VirtualBatchNorm(Module):
    """Virtual batch norm with a learned scale and shift, for (..., N, F) features.

    ``forward(x, reference)`` returns (x normalised by :func:`virtual_batch_norm`, the
    reference normalised by its own statistics), so a network passes the pair on layer
    after layer: the reference batch goes through the same layers as x.
    """

    def __init__(self, features, eps=1e-5):
        super().__init__()
        from minigan.creation import ones
        self.features, self.eps = features, eps
        self.weight = Parameter(ones(features))
        self.bias = Parameter(zeros(features))

    def forward(self, x, reference):
        normalised = virtual_batch_norm(x, reference, self.weight, self.bias, self.eps)
        mu = reference.mean(axis=-2, keepdims=True)
        var = reference.var(axis=-2, keepdims=True, correction=0)
        reference = (reference - mu) / (var + self.eps).sqrt() * self.weight + self.bias
        return normalised, reference

    def extra_repr(self):
        return f"features={self.features}, eps={self.eps}"
