"""Scoring samples with a classifier: the Inception Score, and which classes get made.

Give generated images to a classifier trained on the real data (Inception-v3 on
ImageNet for the published Inception Score; a small convnet for Fashion-MNIST) and
keep its softmax outputs p(y | x), one row of C class probabilities per sample.

**The score** (Salimans et al. 2016). With the marginal p(y) = E_x p(y | x), the
class distribution of the generated set,

    score = exp( E_x KL(p(y | x) || p(y)) ) = exp( H(y) - E_x H(y | x) ).

It is high when each sample is classified with confidence (low conditional entropy
H(y | x)) *and* the samples spread over the classes (high marginal entropy H(y)). It
lies between 1 (every sample gets the same distribution) and C (every sample is
certain of its class, and the classes are equally frequent). Its blind spots: it never
looks at real data, and it cannot see variety *within* a class: one perfect image per
class, repeated, scores C. The reference code splits the N samples into 10 parts and
reports the mean and standard deviation of the part's scores.

**Coverage.** The predicted labels argmax_y p(y | x) give a histogram over the
classes, q_c = (samples predicted as c) / N. The number of classes that occur and
the reverse KL from the uniform histogram, KL(q || uniform) = log C - H(q), tell how
many classes the generator makes and how evenly: the mode counting of
``minigan.metrics.modes``, with the classifier in place of the known centres.
"""
import collections

import numpy

from minigan import backend
from minigan.autograd import array_of
from minigan.metrics import _arrays
from minigan.metrics.modes import reverse_kl

ClassCoverage = collections.namedtuple("ClassCoverage", ["shares", "covered", "reverse_kl"])
ClassCoverage.__doc__ = """How the predicted labels spread over the classes.

shares: (C,) float64 NumPy array, the share q_c of samples predicted as class c (sums to 1).
covered: the number of classes predicted for at least one sample (an int, 1..C).
reverse_kl: KL(q || uniform) = log C - H(q), 0 for an even spread, log C for one class.
"""

# Softmax outputs in float32 sum to 1 within about 1e-6; logits or unnormalised scores
# passed by mistake miss by far more than this.
_ROW_SUM_TOLERANCE = 1e-3


def classifier_score(probabilities, splits=1):
    """The Inception Score exp(E_x KL(p(y | x) || p(y))) of a classifier's outputs.

    Args:
        probabilities: (N, C) softmax outputs p(y | x), rows non-negative summing to 1
            (array or Tensor, NumPy or CuPy).
        splits: score the samples in this many consecutive parts, each with its own
            marginal p(y) (10 in the reference code); 1 <= splits <= N.

    Returns:
        (mean, std) of the parts' scores, floats; std is numpy's (n in its
        denominator, as in the reference code), so 0 for a single part.

    >>> classifier_score(numpy.eye(4)[[0, 1, 2, 3, 0, 1, 2, 3]])   # confident, even: C
    (4.0, 0.0)
    """
    xp = _arrays.common_array_module(probabilities)
    p = _arrays.as_float64(probabilities, xp, "classifier_score")
    if p.ndim != 2 or len(p) == 0:
        raise ValueError(f"classifier_score: expected probabilities (N, C) with N >= 1, got "
                         f"shape {p.shape}")
    sums = p.sum(axis=1)
    # Written as "not (all in range)" so that NaN, which fails every comparison, is refused.
    if not backend.to_numpy(xp.all(p >= 0) & xp.all(xp.abs(sums - 1) <= _ROW_SUM_TOLERANCE)):
        low_sum, high_sum = backend.value_range(sums)
        raise ValueError(f"classifier_score: expected probabilities (N, C), rows non-negative "
                         f"and summing to 1 (softmax outputs, not logits), got shape {p.shape} "
                         f"with entries down to {_arrays.number(p.min()):.4g} and row sums in "
                         f"[{low_sum:.4g}, {high_sum:.4g}]")
    if not 1 <= splits <= len(p):
        raise ValueError(f"classifier_score: splits must be in 1..N = 1..{len(p)}, got {splits}")
    # 0 log 0 = 0 (the limit): where p(y|x) = 0 the term is left out, and log is taken
    # of 1 there instead so that no log(0) is ever computed. Where p(y|x) > 0, the
    # marginal p(y) >= p(y|x) / N > 0 too.
    positive = p > 0
    log_p = xp.log(xp.where(positive, p, 1))
    scores = []
    for i in range(splits):
        part = slice(i * len(p) // splits, (i + 1) * len(p) // splits)
        log_marginal = xp.log(xp.where(positive[part], p[part].mean(axis=0), 1))
        kl = xp.where(positive[part], p[part] * (log_p[part] - log_marginal), 0).sum(axis=1)
        scores.append(xp.exp(kl.mean()))
    scores = backend.to_numpy(xp.stack(scores))
    return float(scores.mean()), float(scores.std())


def class_coverage(predicted_labels, num_classes):
    """The share of samples predicted as each class, and how many classes occur.

    Args:
        predicted_labels: (N,) ints in 0..C-1, e.g. ``probabilities.argmax(axis=1)``
            (array or Tensor, NumPy or CuPy).
        num_classes: C.

    Returns:
        ClassCoverage(shares (C,), covered, reverse_kl).

    >>> coverage = class_coverage(numpy.array([0, 0, 1, 1]), 4)   # half the classes
    >>> coverage.shares.tolist(), coverage.covered, round(coverage.reverse_kl, 4)
    ([0.5, 0.5, 0.0, 0.0], 2, 0.6931)
    """
    if (isinstance(num_classes, bool) or not isinstance(num_classes, (int, numpy.integer))
            or num_classes < 1):
        raise ValueError(f"class_coverage: num_classes must be an int >= 1, got {num_classes!r}")
    labels = backend.to_numpy(array_of(predicted_labels))
    if labels.ndim != 1 or len(labels) == 0 or labels.dtype.kind not in "iu":
        raise ValueError(f"class_coverage: expected predicted_labels (N,) integers with N >= 1, "
                         f"got shape {labels.shape} and dtype {labels.dtype}")
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"class_coverage: labels must be in 0..{num_classes - 1} for "
                         f"num_classes={num_classes}, got labels from {labels.min()} to "
                         f"{labels.max()}")
    counts = numpy.bincount(labels, minlength=num_classes)
    return ClassCoverage(shares=counts / len(labels), covered=int(numpy.count_nonzero(counts)),
                         reverse_kl=reverse_kl(counts))
