"""Generated toy distributions: Gaussian mixtures in one and two dimensions, and a swiss roll.

Their value is that the answer is known. A mixture of K Gaussians with known centres
and a small standard deviation makes mode collapse *countable*: look at where the
generated samples land and count the centres they reach (``minigan.metrics.modes``).

The two 2-D benchmarks of VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018):

* **ring**: 8 equally weighted Gaussians with std 0.01, centred on the unit circle at
  angles 2 pi k / 8, k = 0..7 (``numpy.linspace(0, 2 pi, 8, endpoint=False)``);
* **grid**: 25 equally weighted Gaussians with std 0.05, centred at (a, b) for
  a, b in {-4, -2, 0, 2, 4}.

Every sampler draws from ``rng``: a ``numpy.random.Generator``, an int seed, or None
for minigan's own seeded generator (``minigan.manual_seed`` then makes the draws
reproducible). Samples come back as float64 NumPy arrays of shape (n, dim); a chapter
turns a batch into a Tensor with ``minigan.tensor(batch, dtype="float32")``.

A bad argument (``ring(-1)``, ``ring(2.5)``, ``ring(100, std=-1)``) raises a TypeError or
ValueError that names the sampler and the argument, before anything is drawn.
"""
import math

import numpy

from minigan import backend


def _generator(function, rng):
    """A generator to draw from: ``rng`` itself, a new one seeded with an int, or minigan's."""
    if rng is None:
        return backend.rng()
    if isinstance(rng, (int, numpy.integer)) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError(f"{function}: an int rng is a seed, which must be >= 0, got {rng}")
        return numpy.random.default_rng(int(rng))
    if not all(hasattr(rng, method) for method in ("random", "standard_normal", "integers")):
        raise TypeError(f"{function}: rng must be None, an int seed or a generator of "
                        f"numpy.random.default_rng, got {type(rng).__name__}")
    return rng


def _count(function, name, value, minimum=0):
    """``value`` as an int >= minimum, or an error naming ``function`` and ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)):
        raise TypeError(f"{function}: {name} must be a whole number (an int), got {value!r}")
    if value < minimum:
        raise ValueError(f"{function}: {name} must be >= {minimum}, got {value}")
    return int(value)


def _number(function, name, value, positive=False):
    """``value`` as a finite float >= 0 (> 0 if ``positive``), or an error naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float, numpy.integer,
                                                         numpy.floating)):
        raise TypeError(f"{function}: {name} must be a number, got {value!r}")
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise ValueError(f"{function}: {name} must be a finite number "
                         f"{'> 0' if positive else '>= 0'}, got {value}")
    return float(value)


def _array(function, name, value):
    """``value`` (a list or an array of numbers) as a float64 array, or a TypeError."""
    try:
        return numpy.asarray(value, dtype=numpy.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{function}: {name} must be numbers in a list or an array, "
                        f"got {value!r}") from None


def _host(array):
    """A float64 NumPy array (the draws of minigan's generator may live on a GPU)."""
    return numpy.asarray(backend.to_numpy(array), dtype=numpy.float64)


def ring_centres(n_modes=8, radius=1.0):
    """The centres of the ring: radius (cos t_k, sin t_k) with t_k = 2 pi k / n_modes.

    Shape (n_modes, 2). The first centre is (radius, 0); they go anticlockwise.
    """
    n_modes = _count("ring_centres", "n_modes", n_modes, minimum=1)
    radius = _number("ring_centres", "radius", radius, positive=True)
    angles = numpy.linspace(0.0, 2 * math.pi, n_modes, endpoint=False)
    return radius * numpy.stack([numpy.cos(angles), numpy.sin(angles)], axis=1)


def grid_centres(side=5, spacing=2.0):
    """The centres of a side x side grid, centred on the origin, ``spacing`` apart.

    The default gives the 25 points (a, b), a, b in {-4, -2, 0, 2, 4}, shape (25, 2),
    in row-major order: (-4, -4), (-4, -2), ..., (4, 4).
    """
    side = _count("grid_centres", "side", side, minimum=1)
    spacing = _number("grid_centres", "spacing", spacing, positive=True)
    coordinates = spacing * (numpy.arange(side) - (side - 1) / 2)
    a, b = numpy.meshgrid(coordinates, coordinates, indexing="ij")
    return numpy.stack([a.ravel(), b.ravel()], axis=1)


def gaussian_mixture(n, centres, std, rng=None, weights=None):
    """n samples of the mixture sum_k w_k N(centre_k, std^2 I), and the mode of each.

    Args:
        n: how many samples (an int >= 0).
        centres: (K, dim) array of the component means (or (K,) for one dimension), K >= 1.
        std: the standard deviation of every component (a number >= 0), or one per component.
        rng: a numpy Generator, an int seed, or None for minigan's generator.
        weights: the mixture weights w_k (default: equal, 1/K each).

    Returns:
        (samples, labels): samples (n, dim) float64 and labels (n,) int, the index of
        the component each sample was drawn from.

    Bad arguments raise a TypeError (not a number, not an int) or a ValueError (out of
    range, a shape that does not fit) that names the function and the argument.
    """
    return _mixture("gaussian_mixture", n, centres, std, rng, weights)


def _mixture(function, n, centres, std, rng, weights):
    """gaussian_mixture, its errors naming ``function`` (the sampler the user called)."""
    n = _count(function, "n", n)
    centres = _array(function, "centres", centres)
    if centres.ndim not in (1, 2) or len(centres) == 0 or not numpy.isfinite(centres).all():
        raise ValueError(f"{function}: centres must be a (K, dim) or (K,) array of finite "
                         f"numbers with K >= 1, got shape {centres.shape}")
    if centres.ndim == 1:
        centres = centres[:, None]
    count, dim = centres.shape
    stds = _array(function, "std", std)
    if stds.shape not in [(), (count,)] or not numpy.isfinite(stds).all() or (stds < 0).any():
        raise ValueError(f"{function}: std must be one finite number >= 0, or {count} of them "
                         f"(one per component), got {std!r}")
    generator = _generator(function, rng)
    if weights is None:
        labels = _host(generator.integers(0, count, size=n)).astype(numpy.int64)
    else:
        weights = _array(function, "weights", weights)
        if weights.shape != (count,) or numpy.any(weights < 0) or not numpy.isclose(weights.sum(), 1):
            raise ValueError(f"{function}: weights must be {count} non-negative numbers "
                             f"summing to 1, got {weights}")
        uniform = _host(generator.random(n))
        labels = numpy.minimum(numpy.searchsorted(numpy.cumsum(weights), uniform, side="right"),
                               count - 1)
    stds = numpy.broadcast_to(stds, (count,))
    noise = _host(generator.standard_normal((n, dim)))
    return centres[labels] + stds[labels, None] * noise, labels


def ring(n, rng=None, n_modes=8, radius=1.0, std=0.01):
    """n samples of the ring of 8 Gaussians (std 0.01 on the unit circle).

    Returns (samples (n, 2), centres (n_modes, 2)).
    """
    _count("ring", "n_modes", n_modes, minimum=1)
    _number("ring", "radius", radius, positive=True)
    centres = ring_centres(n_modes, radius)
    samples, _ = _mixture("ring", n, centres, std, rng, None)
    return samples, centres


def grid(n, rng=None, side=5, spacing=2.0, std=0.05):
    """n samples of the grid of 25 Gaussians (std 0.05 at {-4, -2, 0, 2, 4}^2).

    Returns (samples (n, 2), centres (side^2, 2)).
    """
    _count("grid", "side", side, minimum=1)
    _number("grid", "spacing", spacing, positive=True)
    centres = grid_centres(side, spacing)
    samples, _ = _mixture("grid", n, centres, std, rng, None)
    return samples, centres


def mixture_1d(n, means=(-2.0, 2.0), std=0.5, rng=None, weights=None):
    """n samples of a one-dimensional Gaussian mixture (default: two modes at -2 and 2).

    Returns (samples (n, 1), means (K,)).
    """
    means = _array("mixture_1d", "means", means)
    if means.ndim != 1:
        raise ValueError(f"mixture_1d: means must be one number per mode, a (K,) array, got "
                         f"shape {means.shape}")
    samples, _ = _mixture("mixture_1d", n, means, std, rng, weights)
    return samples, means


def swiss_roll(n, rng=None, noise=0.0, turns=1.5):
    """n samples of the 2-D swiss roll: a spiral with no modes, a continuous manifold.

    With t uniform on [t0, t1] = [pi/2, pi/2 + 2 pi turns] (starting at pi/2 keeps the
    spiral's inner end away from the centre), a sample is

        (t cos t, t sin t) / t1 + noise * N(0, I),

    so the roll fits in the square [-1, 1]^2.

    Returns samples (n, 2).
    """
    n = _count("swiss_roll", "n", n)
    noise = _number("swiss_roll", "noise", noise)
    turns = _number("swiss_roll", "turns", turns, positive=True)
    generator = _generator("swiss_roll", rng)
    start, span = math.pi / 2, 2 * math.pi * turns
    t = start + span * _host(generator.random(n))
    points = numpy.stack([t * numpy.cos(t), t * numpy.sin(t)], axis=1) / (start + span)
    if noise:
        points = points + noise * _host(generator.standard_normal((n, 2)))
    return points
