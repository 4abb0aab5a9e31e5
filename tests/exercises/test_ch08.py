"""Chapter 08's exercises: the information bound, the Gaussian code's NLL, clustering accuracy."""
import itertools
import math

import numpy as np
import pytest
import scipy.stats

from tests.exercises.harness import make_tests

pytestmark = pytest.mark.ch08


def check_mutual_information_lower_bound(bound):
    """log K for a certain and right Q, 0 for a uniform Q, in between otherwise, and equal
    to the true I(c; x) when Q is the true posterior of a known joint distribution."""
    codes = np.array([0, 1, 2, 3, 1, 2])
    assert bound(np.eye(4)[codes] * (1 - 4e-12) + 1e-12, codes) == pytest.approx(math.log(4),
                                                                                 abs=1e-9)
    assert bound(np.full((6, 4), 0.25), codes) == pytest.approx(0.0, abs=1e-12)
    # c uniform on {0, 1}; x a copy of c flipped with probability 0.2 (a binary channel):
    # Q(c | x) = 0.8 if c == x else 0.2, and I(c; x) = log 2 - H_b(0.2).
    pairs = [(0, 0)] * 8 + [(0, 1)] * 2 + [(1, 1)] * 8 + [(1, 0)] * 2
    codes = np.array([c for c, _ in pairs])
    q = np.array([[0.8, 0.2] if x == 0 else [0.2, 0.8] for _, x in pairs])
    exact = math.log(2) - scipy.stats.entropy([0.8, 0.2])
    assert bound(q, codes) == pytest.approx(exact, rel=1e-12)


def check_gaussian_code_nll(nll):
    """Matches scipy's normal log-density summed over the code's dimensions, averaged."""
    rng = np.random.default_rng(8)
    means, codes = rng.standard_normal((50, 3)), rng.uniform(-1, 1, (50, 3))
    expected = -np.mean(scipy.stats.norm.logpdf(codes, loc=means).sum(axis=1))
    assert nll(means, codes) == pytest.approx(expected, rel=1e-12)
    assert nll(codes, codes) == pytest.approx(1.5 * math.log(2 * math.pi), rel=1e-12)


def check_best_matching_accuracy(accuracy):
    """Agrees with a brute force over all one-to-one maps on small cases; a relabelled
    perfect clustering scores 1; two codes cannot both claim one class."""
    rng = np.random.default_rng(9)
    for _ in range(20):
        codes, labels = rng.integers(0, 4, 30), rng.integers(0, 4, 30)
        brute = max(np.mean(np.array(m)[codes] == labels)
                    for m in itertools.permutations(range(4)))
        assert accuracy(codes, labels, 4) == pytest.approx(brute, abs=1e-12)
    labels = rng.integers(0, 5, 100)
    assert accuracy((labels + 2) % 5, labels, 5) == pytest.approx(1.0)
    # Codes 0 and 1 both hold mostly class 0: only one of them may map to it.
    codes, labels = np.array([0, 0, 0, 1, 1, 1]), np.array([0, 0, 1, 0, 0, 1])
    assert accuracy(codes, labels, 2) == pytest.approx(0.5)


# --- planted wrong answers -----------------------------------------------------------------
def bound_without_the_entropy(q_probabilities, codes):
    """Forgets H(c) = log K: gives E log Q, which is negative."""
    q = np.asarray(q_probabilities)
    return np.mean(np.log(q[np.arange(len(q)), np.asarray(codes)]))


def bound_of_the_most_likely(q_probabilities, codes):
    """Scores Q's top guess, not the true code's probability."""
    q = np.asarray(q_probabilities)
    return math.log(q.shape[1]) + np.mean(np.log(q.max(axis=1)))


def nll_without_the_half(means, codes):
    """Drops the 1/2 of the Gaussian exponent."""
    difference = np.asarray(codes) - np.asarray(means)
    return np.mean((difference ** 2).sum(axis=1)) + 0.5 * difference.shape[1] * math.log(
        2 * math.pi)


def nll_averaged_over_dimensions(means, codes):
    """Averages over the code's dimensions instead of summing them."""
    difference = np.asarray(codes) - np.asarray(means)
    return np.mean(0.5 * difference ** 2) + 0.5 * math.log(2 * math.pi)


def accuracy_by_majority(codes, labels, num_classes):
    """Maps each code to its most frequent class (not one-to-one): overestimates."""
    codes, labels = np.asarray(codes), np.asarray(labels)
    correct = sum(np.bincount(labels[codes == k], minlength=num_classes).max()
                  for k in range(num_classes) if np.any(codes == k))
    return correct / len(codes)


def accuracy_without_matching(codes, labels, num_classes):
    """Compares codes with labels directly, as if code k meant class k."""
    return np.mean(np.asarray(codes) == np.asarray(labels))


CHECKS = {"mutual_information_lower_bound": check_mutual_information_lower_bound,
          "gaussian_code_nll": check_gaussian_code_nll,
          "best_matching_accuracy": check_best_matching_accuracy}
MUTANTS = {"mutual_information_lower_bound": [bound_without_the_entropy,
                                              bound_of_the_most_likely],
           "gaussian_code_nll": [nll_without_the_half, nll_averaged_over_dimensions],
           "best_matching_accuracy": [accuracy_by_majority, accuracy_without_matching]}

test_exercise, test_mutant_is_rejected = make_tests("08", CHECKS, MUTANTS)
