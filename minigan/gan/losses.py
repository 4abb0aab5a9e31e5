"""GAN losses, written from the discriminator's raw output.

A discriminator network ends in a linear layer. Its output is a real number per
sample: a *logit* a for the cross-entropy games below, with D = sigmoid(a) the
probability it gives to "real", or a *score* used as it is by the least-squares,
hinge and Wasserstein games (no sigmoid anywhere). Every loss here takes those
outputs and returns a scalar Tensor that its player *minimises*.

**The cross-entropy games** (Goodfellow et al. 2014). From logits the logs are
exact for any a, because

    log D       = log sigmoid(a)     = -softplus(-a)
    log (1 - D) = log sigmoid(-a)    = -softplus(a)

with softplus(a) = log(1 + e^a) computed without overflow. Written with D itself,
log(1 - D) is log(0) = -inf as soon as D rounds to 1 (a > 17 in float32).
For the value V(D, G) = E_data[log D(x)] + E_z[log(1 - D(G(z)))]:

* the discriminator ascends V, that is it minimises  -V
  (binary cross-entropy with label 1 on real samples and 0 on fakes);
* the generator of the minimax game descends V; only the second term depends on G,
  so it minimises  E_z[log(1 - D(G(z)))]  (``generator_loss_saturating``);
* in practice the generator minimises  -E_z[log D(G(z))]  instead
  (``generator_loss_nonsaturating``): the same fixed point, but a strong gradient
  early in training, when D confidently rejects the fakes (see chapter 02).

**The loss zoo.** Three later games replace the log loss, each to keep the
generator's gradient alive where the cross-entropy saturates:

* least squares (LSGAN, Mao et al. 2017): D regresses real scores to b and fake
  ones to a, G pulls fake scores to c; with b - c = 1 and b - a = 2 the generator
  minimises a Pearson chi^2 divergence (``theory.lsgan_generator_objective``);
* hinge (Lim & Ye 2017; Miyato et al. 2018): D only pushes scores that are on
  the wrong side of a margin of 1; G raises the fake scores;
* Wasserstein (WGAN, Arjovsky et al. 2017): a 1-Lipschitz critic f estimates the
  earth mover's distance sup_f E_data[f(x)] - E_g[f(x)]; G lowers it. The
  Lipschitz constraint is not in the loss: it comes from weight clipping
  (``minigan.optim.clip_weights_``), a gradient penalty
  (``minigan.gan.penalties``) or spectral normalisation (``minigan.nn.utils``).

Adding a loss: write a function of the discriminator's outputs returning a scalar
Tensor to minimise, and, if it forms a new game, add a (discriminator loss,
generator loss) pair to ``LOSSES`` so chapters can choose it by name.

Every loss checks its arguments first (``_scores``): Tensors of one float dtype, not
empty. Those are a type and a size test per argument, nothing that reads the values.
"""
import math

import numpy

from minigan.autograd import Tensor
from minigan.ops import mean, relu, softplus

_FLOATS = (numpy.dtype(numpy.float32), numpy.dtype(numpy.float64))


def _scores(loss, **named):
    """Refuse a discriminator output that no loss can use, naming ``loss`` and the argument.

    Each must be a Tensor (a NumPy array would lose the graph back to D), of float32 or
    float64 (the same one for all), with at least one element (the mean of no scores is
    undefined). Returns the tensors in the order given.
    """
    dtypes = set()
    for name, scores in named.items():
        if not isinstance(scores, Tensor):
            raise TypeError(f"{loss}: {name} must be a Tensor (the discriminator's output), "
                            f"got {type(scores).__name__}")
        if scores.dtype not in _FLOATS:
            raise TypeError(f"{loss}: {name} must be float32 or float64, got dtype "
                            f"{scores.dtype}")
        if scores.size == 0:
            raise ValueError(f"{loss}: {name} is empty (shape {scores.shape}); the mean of no "
                             f"scores is undefined")
        dtypes.add(scores.dtype)
    if len(dtypes) > 1:
        shown = ", ".join(f"{name} {t.dtype}" for name, t in named.items())
        raise TypeError(f"{loss}: the scores must share one dtype, got {shown}")
    return tuple(named.values())


def _target_value(loss, name, value):
    """A regression target of the least-squares game as a finite Python float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TypeError(f"{loss}: {name} must be a finite number, got {value!r}")
    return float(value)


def discriminator_loss(real_logits, fake_logits):
    """-V(D, G) = -E_data[log D(x)] - E_z[log(1 - D(G(z)))]
               =  mean softplus(-real_logits) + mean softplus(fake_logits).

    Args:
        real_logits: D's logits on data samples, any shape (usually (N, 1)).
        fake_logits: D's logits on generated samples, any shape.

    Returns a scalar Tensor. Its minimum over all functions D is log 4 - 2 JSD,
    reached at D*(x) = p_data(x) / (p_data(x) + p_g(x)); log 4 = 1.386 when D
    cannot tell the two apart (D = 1/2).
    """
    _scores("discriminator_loss", real_logits=real_logits, fake_logits=fake_logits)
    return mean(softplus(-real_logits)) + mean(softplus(fake_logits))


def generator_loss_saturating(fake_logits):
    """The minimax generator loss E_z[log(1 - D(G(z)))] = -mean softplus(fake_logits).

    Its derivative in the logit is -sigmoid(a) = -D(G(z)): it vanishes as D(G(z)) -> 0,
    that is exactly when D confidently rejects the fakes (the loss *saturates*).
    """
    _scores("generator_loss_saturating", fake_logits=fake_logits)
    return -mean(softplus(fake_logits))


def generator_loss_nonsaturating(fake_logits):
    """The non-saturating generator loss -E_z[log D(G(z))] = mean softplus(-fake_logits).

    Its derivative in the logit is -(1 - D(G(z))): close to -1 when D rejects the
    fakes, so a poor generator still gets a strong gradient.
    """
    _scores("generator_loss_nonsaturating", fake_logits=fake_logits)
    return mean(softplus(-fake_logits))


# --- least squares (LSGAN) ------------------------------------------------------------------
def discriminator_loss_least_squares(real_scores, fake_scores, a=0.0, b=1.0):
    """LSGAN's discriminator loss: regress real scores to b and fake scores to a.

        L_D = 1/2 E_data[(D(x) - b)^2] + 1/2 E_z[(D(G(z)) - a)^2]

    The defaults a = 0, b = 1 (with c = 1 for the generator) are the 0-1 coding that
    implementations commonly use; a = -1, b = 1, c = 0 meets the conditions of Mao et
    al.'s Theorem 1 (b - c = 1, b - a = 2), under which the generator minimises a
    Pearson chi^2 divergence. Pointwise the minimiser is
    D*(x) = (b p_data(x) + a p_g(x)) / (p_data(x) + p_g(x))
    (``theory.lsgan_optimal_discriminator``).

    Args:
        real_scores, fake_scores: D's raw outputs (no sigmoid), any shapes.
        a, b: the targets for fake and for real samples.
    """
    loss = "discriminator_loss_least_squares"
    _scores(loss, real_scores=real_scores, fake_scores=fake_scores)
    a, b = _target_value(loss, "a", a), _target_value(loss, "b", b)
    return 0.5 * mean((real_scores - b) ** 2) + 0.5 * mean((fake_scores - a) ** 2)


def generator_loss_least_squares(fake_scores, c=1.0):
    """LSGAN's generator loss: pull the fake scores to c, the value G wants D to believe.

        L_G = 1/2 E_z[(D(G(z)) - c)^2]

    Its derivative in a score s is (s - c) / N: it grows with the distance from c
    instead of saturating, so fakes far on the wrong side still get a strong push.
    """
    _scores("generator_loss_least_squares", fake_scores=fake_scores)
    c = _target_value("generator_loss_least_squares", "c", c)
    return 0.5 * mean((fake_scores - c) ** 2)


# --- hinge ----------------------------------------------------------------------------------
def discriminator_loss_hinge(real_scores, fake_scores):
    """The hinge loss of the discriminator (SAGAN, BigGAN, SN-GAN's best runs):

        L_D = E_data[relu(1 - D(x))] + E_z[relu(1 + D(G(z)))]

    A real sample whose score is already above 1, or a fake one below -1, adds
    nothing and gets no gradient: D spends its capacity on the samples it gets wrong.
    """
    _scores("discriminator_loss_hinge", real_scores=real_scores, fake_scores=fake_scores)
    return mean(relu(1 - real_scores)) + mean(relu(1 + fake_scores))


def generator_loss_hinge(fake_scores):
    """The generator's loss of the hinge game: L_G = -E_z[D(G(z))].

    It has no margin: G raises every fake score, with slope -1/N whatever D says
    (the same loss as the Wasserstein generator's).
    """
    _scores("generator_loss_hinge", fake_scores=fake_scores)
    return -mean(fake_scores)


# --- Wasserstein (WGAN) ---------------------------------------------------------------------
def critic_loss_wasserstein(real_scores, fake_scores):
    """The WGAN critic's loss, the negated estimate of the earth mover's distance:

        L_f = E_z[f(G(z))] - E_data[f(x)]

    By the Kantorovich-Rubinstein duality, W1(p_data, p_g) = sup over 1-Lipschitz f
    of E_data[f(x)] - E_g[f(x)], so a critic that minimises L_f under a Lipschitz
    constraint makes -L_f an estimate of W1. Without the constraint the scores
    simply grow without bound: pair this loss with a gradient penalty, spectral
    normalisation or weight clipping.
    """
    _scores("critic_loss_wasserstein", real_scores=real_scores, fake_scores=fake_scores)
    return mean(fake_scores) - mean(real_scores)


def generator_loss_wasserstein(fake_scores):
    """The WGAN generator's loss: L_G = -E_z[f(G(z))], the part of the W1 estimate G moves."""
    _scores("generator_loss_wasserstein", fake_scores=fake_scores)
    return -mean(fake_scores)


# name -> (discriminator loss, generator loss): the games a chapter can choose from.
# least_squares uses the 0-1 coding a = 0, b = 1, c = 1 (the defaults).
LOSSES = {
    "saturating": (discriminator_loss, generator_loss_saturating),
    "nonsaturating": (discriminator_loss, generator_loss_nonsaturating),
    "least_squares": (discriminator_loss_least_squares, generator_loss_least_squares),
    "hinge": (discriminator_loss_hinge, generator_loss_hinge),
    "wasserstein": (critic_loss_wasserstein, generator_loss_wasserstein),
}
