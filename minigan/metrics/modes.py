"""Counting modes: the evaluation protocol of VEEGAN and PacGAN for mixtures with known centres.

Draw N = 2,500 samples x_1..x_N from the generator. With the K mixture centres c_k,
all of standard deviation sigma (``minigan.data.toy``):

* the **nearest mode** of a sample is  k(i) = argmin_k ||x_i - c_k||;
* a sample is **high quality** when it lies within 3 standard deviations of it:
  ||x_i - c_k(i)|| < 3 sigma;
* a mode is **captured** when some high-quality sample is nearest to it;
* the **mode histogram** counts the high-quality samples of each mode, n_k, and
  q_k = n_k / sum_j n_j is the generated share of mode k;
* the **reverse KL** compares q with the true share p_k = 1/K:

      KL(q || p) = sum_k q_k log(q_k / p_k) = log K - H(q).

  It is 0 when every mode gets its fair share, and log K when all high-quality
  samples sit on one mode. "Reverse" because the generated distribution comes first
  (the forward KL(p || q) would be infinite as soon as one mode is empty).

Two choices, stated because papers differ in them. (1) q is built from the
*high-quality* samples only, as in PacGAN's evaluation code: a sample far from every
mode belongs to no mode (its cost shows in the high-quality fraction instead).
(2) An empty mode, q_k = 0, contributes 0 log 0 = 0 (the limit), so the reverse KL
stays finite, as in PacGAN's code; p_k = 1/K is never zero, so nothing divides by zero.
When no sample at all is high quality, q is undefined and the reverse KL is NaN.

Distances are Euclidean; with one sigma shared by all modes this is the same as the
per-mode Mahalanobis distance of PacGAN's code, scaled by sigma.
"""
import collections
import math

import numpy

from minigan import backend
from minigan.autograd import array_of

ModeStatistics = collections.namedtuple(
    "ModeStatistics", ["modes", "high_quality", "reverse_kl", "counts"])
ModeStatistics.__doc__ = """The protocol's results for one set of samples.

modes: the number of modes captured (an int, 0..K).
high_quality: the fraction of samples within 3 sigma of their nearest mode (0..1).
reverse_kl: KL(q || uniform) of the high-quality mode histogram (NaN if there is none).
counts: (K,) int array, the high-quality samples of each mode.
"""


def _as_numpy(samples):
    """Samples given as a Tensor, a NumPy or a CuPy array, as a float64 NumPy array."""
    data = array_of(samples)
    return numpy.asarray(backend.to_numpy(data), dtype=numpy.float64)


def nearest_mode(samples, centres):
    """The nearest centre of each sample, and the distance to it.

    Args:
        samples: (N, dim) samples (array or Tensor).
        centres: (K, dim) mode centres.

    Returns:
        (index, distance): index (N,) ints in 0..K-1 and distance (N,) floats,
        k(i) = argmin_k ||x_i - c_k|| and ||x_i - c_k(i)||.
    """
    samples, centres = _as_numpy(samples), _as_numpy(centres)
    if samples.ndim != 2 or centres.ndim != 2 or samples.shape[1] != centres.shape[1]:
        raise ValueError(f"nearest_mode: expected samples (N, dim) and centres (K, dim), got "
                         f"shapes {samples.shape} and {centres.shape}")
    if len(centres) == 0:
        raise ValueError(f"nearest_mode: got no centres (shape {centres.shape}); a sample's "
                         f"nearest mode needs at least one")
    distances = numpy.linalg.norm(samples[:, None, :] - centres[None, :, :], axis=2)   # (N, K)
    index = distances.argmin(axis=1)
    return index, distances[numpy.arange(len(samples)), index]


def mode_counts(samples, centres, std, threshold=3.0):
    """The mode histogram: n_k = the number of high-quality samples nearest to centre k.

    A sample is high quality when its distance to the nearest centre is below
    ``threshold * std`` (3 standard deviations). Returns (K,) ints; their sum is the
    number of high-quality samples.
    """
    for name, value in (("std", std), ("threshold", threshold)):
        if not (isinstance(value, (int, float, numpy.number)) and value > 0):
            raise ValueError(f"mode_counts: {name} must be a number > 0, got {value!r} (with "
                             f"{name} <= 0 no sample could count as high quality)")
    index, distance = nearest_mode(samples, centres)
    good = distance < threshold * std
    return numpy.bincount(index[good], minlength=len(_as_numpy(centres)))


def reverse_kl(counts):
    """KL(q || uniform) for the histogram ``counts``: sum_{k: q_k > 0} q_k log(K q_k).

    q_k = counts_k / sum(counts). Empty bins contribute 0 (0 log 0 = 0). Returns NaN
    for an all-zero histogram, where q is undefined.

    >>> reverse_kl([10, 10, 10, 10])   # uniform: 0
    0.0
    >>> reverse_kl([40, 0, 0, 0])      # all on one mode: log 4
    1.3862943611198906
    """
    counts = numpy.asarray(counts, dtype=numpy.float64)
    if counts.ndim != 1 or not bool(numpy.all(counts >= 0)):   # NaN fails >= too
        raise ValueError(f"reverse_kl: counts must be a 1-D histogram of numbers >= 0, got "
                         f"{counts!r:.80}")
    total = counts.sum()
    if total == 0:
        return float("nan")
    q = counts[counts > 0] / total
    return float(numpy.sum(q * numpy.log(len(counts) * q)))


def mode_statistics(samples, centres, std, threshold=3.0):
    """Modes captured, high-quality fraction and reverse KL of ``samples``, as a ModeStatistics.

    Args:
        samples: (N, dim) generated samples (the protocol uses N = 2,500).
        centres: (K, dim) the true mode centres.
        std: the standard deviation of the true modes (0.01 for the ring, 0.05 for the grid).
        threshold: how many standard deviations count as high quality (3).

    >>> centres = minigan.data.toy.ring_centres()
    >>> stats = mode_statistics(numpy.repeat(centres[:1], 100, axis=0), centres, 0.01)
    >>> stats.modes, stats.high_quality, round(stats.reverse_kl, 4)   # all on one mode: log 8
    (1, 1.0, 2.0794)
    """
    n = len(_as_numpy(samples))
    if n == 0:
        raise ValueError("mode_statistics: got no samples; the protocol draws 2,500")
    counts = mode_counts(samples, centres, std, threshold)
    return ModeStatistics(modes=int(numpy.count_nonzero(counts)),
                          high_quality=float(counts.sum() / n),
                          reverse_kl=reverse_kl(counts),
                          counts=counts)


def mean_and_standard_error(values):
    """(mean, standard error of the mean) of repeated measurements, e.g. over 5 seeds.

    The standard error is s / sqrt(n) with s the sample standard deviation (n - 1 in
    its denominator). With a single value it is NaN: one run says nothing of the spread.
    """
    values = numpy.asarray(values, dtype=numpy.float64)
    if values.size == 0:
        raise ValueError("mean_and_standard_error: got no values")
    mean = float(values.mean())
    if values.size < 2:
        return mean, float("nan")
    return mean, float(values.std(ddof=1) / math.sqrt(values.size))
