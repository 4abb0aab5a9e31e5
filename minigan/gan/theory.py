"""The GAN games in closed form: the optimal discriminator, the value, the JSD; LSGAN's chi^2.

Goodfellow et al. (2014) analyse the game

    min_G max_D  V(D, G) = E_{x ~ p_data}[log D(x)] + E_{x ~ p_g}[log(1 - D(x))]

in function space, where D is any function into (0, 1) and p_g is the density of
G(z). Two facts follow (their Proposition 1 and Theorem 1):

1. For a fixed G, V is maximised pointwise, at every x, by

       D*(x) = p_data(x) / (p_data(x) + p_g(x)),

   because a log y + b log(1 - y) (a, b > 0) has its maximum at y = a / (a + b).
   Its logit is the log density ratio: log D*/(1 - D*) = log p_data(x) - log p_g(x).

2. At that D*, the value is a divergence between the two densities:

       V(D*, G) = -log 4 + 2 JSD(p_data || p_g),

   with JSD(p || q) = 1/2 KL(p || m) + 1/2 KL(q || m), m = (p + q) / 2. The JSD is
   in [0, log 2], and 0 only when p = q: the generator's best reply is p_g = p_data,
   where D* = 1/2 everywhere and V = -log 4.

The closed forms (``optimal_discriminator``, ``optimal_logit``) take the two
densities' values at some points. In one dimension every expectation is an
integral over x, so ``value`` and ``jensen_shannon_divergence`` compute them by
adaptive quadrature (``scipy.integrate.quad``) for densities given as functions:
a density is a vectorised function x -> p(x), for example
``scipy.stats.norm(4, 0.5).pdf``. The integrals run over a finite interval
[lower, upper] chosen by the caller to hold all but a negligible part of both
densities; ``points`` (the modes, say) tell the quadrature where the mass is.

A discriminator is given by its *logit* a(x), with D(x) = sigmoid(a(x)), because
that is what a network outputs and because log D = -softplus(-a) and
log(1 - D) = -softplus(a) are exact even where D rounds to 0 or 1.

**The least-squares game** (LSGAN, Mao et al. 2017) has its own closed forms, at the
end of this module. D minimises 1/2 E_data[(D - b)^2] + 1/2 E_g[(D - a)^2], which
pointwise, at each x, is the weighted least-squares problem

    min_y  p_data(x) (y - b)^2 + p_g(x) (y - a)^2,   solved by
    D*(x) = (b p_data(x) + a p_g(x)) / (p_data(x) + p_g(x)).

G minimises 1/2 E_g[(D - c)^2]; adding 1/2 E_data[(D - c)^2], which does not depend
on G, gives at D*

    2 C(G) = integral of (p_data + p_g) (D* - c)^2 dx
           = integral of ((b - c)(p_data + p_g) - (b - a) p_g)^2 / (p_data + p_g) dx,

because (p_data + p_g)(D* - c) = (b - c) p_data + (a - c) p_g. With b - c = 1 and
b - a = 2 (a = -1, b = 1, c = 0, say) the numerator is (p_data + p_g - 2 p_g)^2, so

    C(G) = 1/2 integral of (2 p_g - (p_data + p_g))^2 / (p_data + p_g) dx
         = 1/2 integral of (p_data - p_g)^2 / (p_data + p_g) dx.

Mao et al. write this integral as chi^2_Pearson(p_data + p_g || 2 p_g), putting the
*first* argument in the denominator. ``pearson_chi2`` below follows the usual
convention chi^2(P || Q) = integral of (p - q)^2 / q dx (the f-divergence of
f(t) = (t - 1)^2, the denominator the second argument), in which the same integral
is ``pearson_chi2(2 p_g, p_data + p_g)``. It is 0 only when p_g = p_data, so the
generator's best reply is again p_g = p_data.
"""
import math

import numpy as np
from scipy import integrate, special

LOG_4 = math.log(4.0)


def optimal_discriminator(p_data, p_g):
    """D*(x) = p_data(x) / (p_data(x) + p_g(x)), the best discriminator against a fixed G.

    Args:
        p_data, p_g: the two densities' values at the same points x (arrays of one
            shape, or numbers), e.g. ``norm(4, 0.5).pdf(x)`` and ``norm(2.5, 1).pdf(x)``.

    Returns D* at those points. Where both densities vanish (far from either),
    nothing tells the two apart and D* is taken to be 1/2.

    >>> optimal_discriminator(np.array([0.3, 0.2, 0.0]), np.array([0.1, 0.2, 0.0]))
    array([0.75, 0.5 , 0.5 ])
    """
    p, q = np.asarray(p_data, dtype=float), np.asarray(p_g, dtype=float)
    total = p + q
    return np.where(total > 0, p / np.where(total > 0, total, 1.0), 0.5)[()]


def optimal_logit(p_data, p_g):
    """The logit of D*: log D* / (1 - D*) = log p_data(x) - log p_g(x), the log density ratio.

    Takes the densities' values like ``optimal_discriminator``. It is +inf where only
    p_data is positive, -inf where only p_g is, and 0 where both vanish.
    """
    p, q = np.asarray(p_data, dtype=float), np.asarray(p_g, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):   # log 0 = -inf; -inf - -inf = nan
        log_ratio = np.log(p) - np.log(q)
    return np.where((p > 0) | (q > 0), log_ratio, 0.0)[()]


def log_sigmoid(a):
    """log sigmoid(a) = -softplus(-a) = -log(1 + e^-a), exact for any a (also +-inf)."""
    return -np.logaddexp(0.0, -np.asarray(a, dtype=float))


def value_integrand(a, p, q):
    """p log D + q log(1 - D) at one or more points, with D = sigmoid(a).

    A term whose density is 0 is 0 (the limit p log D -> 0 as p -> 0), even where
    log D = -inf; so the optimal logit's +-inf, where one density vanishes, is safe.
    """
    a, p, q = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (a, p, q)))
    real_term = np.where(p > 0, p * log_sigmoid(np.where(p > 0, a, 0.0)), 0.0)
    fake_term = np.where(q > 0, q * log_sigmoid(np.where(q > 0, -a, 0.0)), 0.0)
    return (real_term + fake_term)[()]


def _integrate(integrand, lower, upper, points, tolerance):
    total, _error = integrate.quad(integrand, lower, upper, points=points, limit=500,
                                   epsabs=tolerance, epsrel=tolerance)
    return total


def value(logit, p_data, p_g, lower, upper, points=None, tolerance=1e-10):
    """V(D, G) = integral of p_data(x) log D(x) + p_g(x) log(1 - D(x)) dx over [lower, upper].

    Args:
        logit: the discriminator as a function x -> a(x), with D = sigmoid(a).
        p_data, p_g: density functions.
        lower, upper: the interval of integration (finite).
        points: where the integrand changes fast (the modes), to guide the quadrature.
        tolerance: the absolute and relative error the quadrature aims for; a float32
            network's logits are only good to about 1e-7, so ask for no more than that.

    V <= 0 always, and V(D, G) <= V(D*, G) = -log 4 + 2 JSD for every D.

    >>> from scipy.stats import norm
    >>> value(lambda x: 0 * x, norm(0, 1).pdf, norm(3, 1).pdf, -15, 18)   # D = 1/2
    -1.386294...
    """
    def integrand(x):
        return float(value_integrand(logit(x), p_data(x), p_g(x)))
    return _integrate(integrand, lower, upper, points, tolerance)


def jensen_shannon_divergence(p, q, lower, upper, points=None, tolerance=1e-10):
    """JSD(p || q) = 1/2 KL(p || m) + 1/2 KL(q || m), m = (p + q) / 2, by quadrature, in nats.

        KL(p || m) = integral of p(x) log(p(x) / m(x)) dx

    Symmetric, in [0, log 2]: 0 when p = q, log 2 when the two never overlap.
    ``scipy.special.rel_entr(p, m) = p log(p / m)`` is 0 where p = 0, the limit.

    >>> from scipy.stats import norm
    >>> jensen_shannon_divergence(norm(0, 1).pdf, norm(0, 1).pdf, -12, 12)
    0.0
    """
    def integrand(x):
        px, qx = p(x), q(x)
        m = 0.5 * (px + qx)
        return 0.5 * special.rel_entr(px, m) + 0.5 * special.rel_entr(qx, m)
    return _integrate(integrand, lower, upper, points, tolerance)


def optimal_value(p_data, p_g, lower, upper, points=None, tolerance=1e-10):
    """C(G) = max_D V(D, G) = V(D*, G) = -log 4 + 2 JSD(p_data || p_g) (Theorem 1).

    Its minimum over G, -log 4, is reached exactly when p_g = p_data.
    """
    return -LOG_4 + 2 * jensen_shannon_divergence(p_data, p_g, lower, upper, points, tolerance)


# --- the least-squares game (LSGAN) --------------------------------------------------------
def lsgan_optimal_discriminator(p_data, p_g, a=-1.0, b=1.0):
    """D*(x) = (b p_data(x) + a p_g(x)) / (p_data(x) + p_g(x)), LSGAN's best discriminator.

    It minimises 1/2 E_data[(D - b)^2] + 1/2 E_g[(D - a)^2] at every x (see the module
    docstring). Takes the densities' values at the same points, like
    ``optimal_discriminator``; where both vanish it is taken to be (a + b) / 2.

    >>> lsgan_optimal_discriminator(np.array([0.3, 0.2, 0.0]), np.array([0.1, 0.2, 0.0]))
    array([0.5, 0. , 0. ])
    """
    p, q = np.asarray(p_data, dtype=float), np.asarray(p_g, dtype=float)
    total = p + q
    return np.where(total > 0, (b * p + a * q) / np.where(total > 0, total, 1.0),
                    0.5 * (a + b))[()]


def lsgan_generator_objective(p_data, p_g, lower, upper, a=-1.0, b=1.0, c=0.0, points=None,
                              tolerance=1e-10):
    """C(G) = 1/2 E_data[(D*(x) - c)^2] + 1/2 E_g[(D*(x) - c)^2], by quadrature.

    The generator's LSGAN loss at the optimal discriminator D* (of ``a``, ``b``), with
    the real-data term, which does not depend on G, included as in Mao et al.'s
    Theorem 1. For b - c = 1 and b - a = 2 it equals
    1/2 ``pearson_chi2(2 p_g, p_data + p_g)``.

    Args:
        p_data, p_g: density functions; lower, upper, points, tolerance: as for ``value``.
        a, b, c: the targets of the game (fake, real, and what G wants D to say).
    """
    def integrand(x):
        p, q = p_data(x), p_g(x)
        return 0.5 * (p + q) * (lsgan_optimal_discriminator(p, q, a, b) - c) ** 2
    return _integrate(integrand, lower, upper, points, tolerance)


def pearson_chi2(p, q, lower, upper, points=None, tolerance=1e-10):
    """chi^2(P || Q) = integral of (p(x) - q(x))^2 / q(x) dx over [lower, upper], by quadrature.

    The f-divergence of f(t) = (t - 1)^2, so the second argument is the denominator
    (see the module docstring for Mao et al.'s reversed notation). ``p`` and ``q``
    are non-negative functions; they need not integrate to 1 (LSGAN's theorem
    compares p_data + p_g with 2 p_g, each of mass 2). A point where q = 0 adds 0 if
    p = 0 there too, and makes the divergence infinite otherwise.

    >>> from scipy.stats import norm
    >>> pearson_chi2(norm(0, 1).pdf, norm(0, 1).pdf, -12, 12)
    0.0
    """
    def integrand(x):
        px, qx = p(x), q(x)
        if qx > 0:
            return (px - qx) ** 2 / qx
        return 0.0 if px == 0 else math.inf
    return _integrate(integrand, lower, upper, points, tolerance)


# --- label smoothing (Salimans et al. 2016) ------------------------------------------------
def smoothed_optimal_discriminator(p_data, p_g, real_label=1.0, fake_label=0.0):
    """D*(x) = (alpha p_data(x) + beta p_g(x)) / (p_data(x) + p_g(x)), alpha = real_label,
    beta = fake_label: the best D when real examples are labelled alpha and fakes beta.

    D minimises -E_data[alpha log D + (1 - alpha) log(1 - D)] - E_g[beta log D +
    (1 - beta) log(1 - D)] (``minigan.gan.improved.smoothed_discriminator_loss``); at each x
    that is -(alpha p + beta q) log y - ((1 - alpha) p + (1 - beta) q) log(1 - y), whose
    minimum is at y = (alpha p + beta q) / (p + q). One-sided smoothing (beta = 0) gives
    alpha p_data / (p_data + p_g): the plain D* scaled by alpha. Two-sided smoothing leaves
    D* = beta wherever p_data = 0 and p_g > 0. Where both densities vanish D* is taken to be
    (alpha + beta) / 2 (1/2 for the plain game).

    >>> smoothed_optimal_discriminator(np.array([0.3, 0.0]), np.array([0.1, 0.2]), 0.9, 0.1)
    array([0.7, 0.1])
    """
    p, q = np.asarray(p_data, dtype=float), np.asarray(p_g, dtype=float)
    alpha, beta = float(real_label), float(fake_label)
    for name, value in (("real_label", alpha), ("fake_label", beta)):
        if not 0 <= value <= 1:
            raise ValueError(f"smoothed_optimal_discriminator: {name} must be in [0, 1], "
                             f"got {value}")
    total = p + q
    return np.where(total > 0, (alpha * p + beta * q) / np.where(total > 0, total, 1.0),
                    0.5 * (alpha + beta))[()]


def smoothed_generator_gradient(p_data, p_g, dp_data, dp_g, real_label=1.0, fake_label=0.0):
    """d/dx log D*(x) for the smoothed D*, from the densities and their derivatives at x.

    The non-saturating generator descends -log D(G(z)), so a fake at x is moved along
    +d/dx log D*(x). With u = alpha p + beta q and t = p + q,
    d log D* / dx = u'/u - t'/t. For beta = 0 this is p'/p - t'/t, the same as without
    smoothing (alpha cancels); for beta > 0 and p_data -> 0 it tends to
    beta q'/(beta q) - q'/q = 0: fakes far from the data get no push towards it.
    """
    p, q, dp, dq = (np.asarray(v, dtype=float) for v in (p_data, p_g, dp_data, dp_g))
    alpha, beta = float(real_label), float(fake_label)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (alpha * dp + beta * dq) / (alpha * p + beta * q) - (dp + dq) / (p + q)
