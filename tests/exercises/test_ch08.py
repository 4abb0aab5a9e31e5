"""Chapter 08's exercises: the information bound, the Gaussian code's NLL, clustering accuracy."""
import itertools
import math

import numpy as np
import pytest
import scipy.optimize
import scipy.stats

from tests.exercises.harness import make_tests

pytestmark = pytest.mark.ch08


def _unchanged(exercise, **inputs):
    """Each input (array, copy taken before the call) is as it was: nothing wrote into it."""
    for name, (array, copy) in inputs.items():
        assert np.array_equal(array, copy), f"{exercise} changed its input {name}: leave it be"


def _scalar(value, what):
    assert np.ndim(value) == 0, f"{what} must be one number, got shape {np.shape(value)}"
    return float(value)


def _bound_counted(q, codes):
    """log K + (1/N) sum_n log q[n][codes[n]], one example at a time."""
    return math.log(len(q[0])) + sum(math.log(q[n][c]) for n, c in enumerate(codes)) / len(codes)


def check_mutual_information_lower_bound(bound):
    """In nats: log K for a certain and right Q, 0 for a uniform Q, negative for a confident
    and wrong Q, the true I(c; x) when Q is the true posterior of a binary channel; on random
    Q (codes not all present, N = K too) equal to the bound summed example by example.
    H(c) is log K (c is uniform by design), whatever codes the batch happens to hold."""
    codes = np.array([0, 1, 2, 3, 1, 2])
    got = _scalar(bound(np.eye(4)[codes] * (1 - 4e-12) + 1e-12, codes), "the bound")
    assert got == pytest.approx(math.log(4), abs=1e-6), \
        f"Q certain and right: expected log K = log 4 = {math.log(4):.4f}, got {got:.4f}"
    got = _scalar(bound(np.full((6, 4), 0.25), codes), "the bound")
    assert got == pytest.approx(0.0, abs=1e-6), \
        f"Q uniform carries no information: expected 0, got {got:.4g}"
    # Confident and wrong: Q puts 0.97 on the next code and 0.01 on the true one.
    q = np.full((6, 4), 0.01) + 0.96 * np.eye(4)[(codes + 1) % 4]
    expected = math.log(4) + math.log(0.01)
    got = _scalar(bound(q, codes), "the bound")
    assert got == pytest.approx(expected, abs=1e-6), \
        (f"Q sure and wrong (0.01 on the true code): expected log 4 + log 0.01 = {expected:.4f}, "
         f"got {got:.4f}")
    # c uniform on {0, 1}; x a copy of c flipped with probability 0.2 (a binary channel):
    # Q(c | x) = 0.8 if c == x else 0.2, and I(c; x) = log 2 - H_b(0.2).
    pairs = [(0, 0)] * 8 + [(0, 1)] * 2 + [(1, 1)] * 8 + [(1, 0)] * 2
    codes = np.array([c for c, _ in pairs])
    q = np.array([[0.8, 0.2] if x == 0 else [0.2, 0.8] for _, x in pairs])
    exact = math.log(2) - scipy.stats.entropy([0.8, 0.2])
    got = _scalar(bound(q, codes), "the bound")
    assert got == pytest.approx(exact, abs=1e-6), \
        f"binary channel, Q the true posterior: expected I(c; x) = {exact:.5f} nats, got {got:.5f}"
    rng = np.random.default_rng(80)
    for n, k, present in [(12, 4, 4), (9, 5, 2), (5, 5, 5), (7, 3, 1)]:
        # Every probability at least 0.04, so that a small eps inside the log changes little.
        q = rng.dirichlet(np.ones(k), size=n) + 0.05
        q /= q.sum(axis=1, keepdims=True)
        codes = rng.integers(0, present, n)
        kept = q.copy(), codes.copy()
        got = _scalar(bound(q, codes), "the bound")
        expected = _bound_counted(q, codes)
        assert got == pytest.approx(expected, abs=1e-6), \
            (f"Q ({n}, {k}), codes {codes.tolist()}: expected log K + mean log Q(c_n | x_n) = "
             f"{expected:.5f}, got {got:.5f}")
        _unchanged("the bound", q_probabilities=(q, kept[0]), codes=(codes, kept[1]))


def check_gaussian_code_nll(nll):
    """A hand-worked case; scipy's normal log-density summed over the code's dimensions and
    averaged over the examples, for D = 1, 3, 5, 6 (N = D too); D/2 log(2 pi) where
    codes = means."""
    got = _scalar(nll(np.array([[0.0, 1.0], [2.0, -1.0]]), np.array([[1.0, 3.0], [2.0, -1.0]])),
                  "the NLL")
    expected = (0.5 * 5 + 0.5 * 0) / 2 + math.log(2 * math.pi)
    assert got == pytest.approx(expected, rel=1e-6), \
        (f"means [[0, 1], [2, -1]], codes [[1, 3], [2, -1]]: squared distances 5 and 0, so "
         f"expected (5/2 + 0)/2 + log(2 pi) = {expected:.5f}, got {got:.5f}")
    rng = np.random.default_rng(8)
    for n, d in [(50, 3), (7, 1), (5, 5), (4, 6)]:
        means, codes = rng.standard_normal((n, d)), rng.uniform(-1, 1, (n, d))
        kept = means.copy(), codes.copy()
        expected = -np.mean(scipy.stats.norm.logpdf(codes, loc=means).sum(axis=1))
        got = _scalar(nll(means, codes), "the NLL")
        assert got == pytest.approx(expected, rel=1e-6), \
            (f"N = {n}, D = {d}: expected -mean_n log N(codes[n]; means[n], I) = {expected:.5f}, "
             f"got {got:.5f}")
        constant = 0.5 * d * math.log(2 * math.pi)
        got = _scalar(nll(codes, codes), "the NLL")
        assert got == pytest.approx(constant, rel=1e-6), \
            f"codes = means, D = {d}: expected D/2 log(2 pi) = {constant:.5f}, got {got:.5f}"
        _unchanged("gaussian_code_nll", means=(means, kept[0]), codes=(codes, kept[1]))


def _brute_force(codes, labels, num_classes):
    return max(np.mean(np.array(m)[codes] == labels)
               for m in itertools.permutations(range(num_classes)))


def _spelled_out(counts):
    """codes and labels with counts[code, label] pairs of each."""
    pairs = [(code, label) for (code, label), k in np.ndenumerate(np.array(counts))
             for _ in range(k)]
    return np.array([c for c, _ in pairs]), np.array([y for _, y in pairs])


def check_best_matching_accuracy(accuracy):
    """Hand-built tables where the shortcuts fail; a brute force over all one-to-one maps on
    random cases; a relabelled perfect clustering scores 1."""
    tables = [([[2, 1], [2, 1]], 3 / 6, "codes 0 and 1 both hold mostly class 0: one may take it"),
              ([[3, 2], [2, 0]], 4 / 7, "the largest count (3) is not in the best matching"),
              ([[10, 8], [1, 0]], 10 / 19, "shares within a code are not counts"),
              ([[1, 1, 2], [0, 0, 0], [0, 0, 0]], 2 / 4, "one code for all: the largest class")]
    for counts, expected, why in tables:
        codes, labels = _spelled_out(counts)
        got = _scalar(accuracy(codes, labels, len(counts)), "the accuracy")
        assert got == pytest.approx(expected, abs=1e-12), \
            f"counts[code, label] = {counts} ({why}): expected {expected:.4f}, got {got:.4f}"
    rng = np.random.default_rng(9)
    for k in [4] * 20 + [3] * 5 + [5] * 5:
        codes, labels = rng.integers(0, k, 30), rng.integers(0, k, 30)
        kept = codes.copy(), labels.copy()
        expected = _brute_force(codes, labels, k)
        got = _scalar(accuracy(codes, labels, k), "the accuracy")
        assert got == pytest.approx(expected, abs=1e-12), \
            (f"{k} classes, 30 random codes: the best one-to-one map scores {expected:.4f}, "
             f"got {got:.4f}")
        _unchanged("best_matching_accuracy", codes=(codes, kept[0]), labels=(labels, kept[1]))
    labels = rng.integers(0, 5, 100)
    got = _scalar(accuracy((labels + 2) % 5, labels, 5), "the accuracy")
    assert got == pytest.approx(1.0), \
        f"a perfect clustering under other names scores 1, got {got:.4f}"


# --- planted wrong answers -----------------------------------------------------------------
def bound_without_the_entropy(q_probabilities, codes):
    """Forgets H(c) = log K: gives E log Q, which is negative."""
    q = np.asarray(q_probabilities)
    return np.mean(np.log(q[np.arange(len(q)), np.asarray(codes)]))


def bound_of_the_most_likely(q_probabilities, codes):
    """Scores Q's top guess, not the true code's probability."""
    q = np.asarray(q_probabilities)
    return math.log(q.shape[1]) + np.mean(np.log(q.max(axis=1)))


def bound_of_q_entropy(q_probabilities, codes):
    """log K - H(Q(. | x)): Q's own certainty, whether or not it names the true code."""
    q = np.asarray(q_probabilities)
    return math.log(q.shape[1]) + np.mean(np.sum(q * np.log(q), axis=1))


def bound_counts_the_codes_present(q_probabilities, codes):
    """log of the number of distinct codes in the batch instead of K."""
    q = np.asarray(q_probabilities)
    return math.log(len(np.unique(codes))) + np.mean(np.log(q[np.arange(len(q)), codes]))


def nll_without_the_half(means, codes):
    """Drops the 1/2 of the Gaussian exponent."""
    difference = np.asarray(codes) - np.asarray(means)
    return np.mean((difference ** 2).sum(axis=1)) + 0.5 * difference.shape[1] * math.log(
        2 * math.pi)


def nll_averaged_over_dimensions(means, codes):
    """Averages over the code's dimensions instead of summing them."""
    difference = np.asarray(codes) - np.asarray(means)
    return np.mean(0.5 * difference ** 2) + 0.5 * math.log(2 * math.pi)


def nll_constant_once(means, codes):
    """1/2 log(2 pi) once, not once per dimension."""
    difference = np.asarray(codes) - np.asarray(means)
    return np.mean(0.5 * (difference ** 2).sum(axis=1)) + 0.5 * math.log(2 * math.pi)


def accuracy_by_majority(codes, labels, num_classes):
    """Maps each code to its most frequent class (not one-to-one): overestimates."""
    codes, labels = np.asarray(codes), np.asarray(labels)
    correct = sum(np.bincount(labels[codes == k], minlength=num_classes).max()
                  for k in range(num_classes) if np.any(codes == k))
    return correct / len(codes)


def accuracy_without_matching(codes, labels, num_classes):
    """Compares codes with labels directly, as if code k meant class k."""
    return np.mean(np.asarray(codes) == np.asarray(labels))


def accuracy_greedy(codes, labels, num_classes):
    """Matches the largest count first, then the largest left: not always the best matching."""
    counts = np.zeros((num_classes, num_classes))
    np.add.at(counts, (np.asarray(codes), np.asarray(labels)), 1)
    total = 0.0
    for _ in range(num_classes):
        code, label = np.unravel_index(np.argmax(counts), counts.shape)
        total += counts[code, label]
        counts[code, :] = counts[:, label] = -1
    return total / len(codes)


def accuracy_matches_shares(codes, labels, num_classes):
    """Matches on each code's shares of the classes: best for the mean share, not the count."""
    counts = np.zeros((num_classes, num_classes))
    np.add.at(counts, (np.asarray(codes), np.asarray(labels)), 1)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    rows, columns = scipy.optimize.linear_sum_assignment(shares, maximize=True)
    return counts[rows, columns].sum() / len(codes)


CHECKS = {"mutual_information_lower_bound": check_mutual_information_lower_bound,
          "gaussian_code_nll": check_gaussian_code_nll,
          "best_matching_accuracy": check_best_matching_accuracy}
MUTANTS = {"mutual_information_lower_bound": [bound_without_the_entropy, bound_of_the_most_likely,
                                              bound_of_q_entropy, bound_counts_the_codes_present],
           "gaussian_code_nll": [nll_without_the_half, nll_averaged_over_dimensions,
                                 nll_constant_once],
           "best_matching_accuracy": [accuracy_by_majority, accuracy_without_matching,
                                      accuracy_greedy, accuracy_matches_shares]}

test_exercise, test_mutant_is_rejected = make_tests("08", CHECKS, MUTANTS)
