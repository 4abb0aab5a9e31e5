"""Chapter 13's exercises: the truncation trick, the style-mixing crossover, R1 by hand."""
import numpy as np
import pytest

from tests.exercises.harness import make_tests

pytestmark = pytest.mark.ch13


def check_truncate(truncate):
    """psi = 0 gives w_avg in every row, psi = 1 gives w; in between, each row lies on the
    segment from w_avg to w at the fraction psi (a hand-computed case)."""
    rng = np.random.default_rng(0)
    w, w_avg = rng.standard_normal((5, 3)), rng.standard_normal(3)
    np.testing.assert_allclose(truncate(w, w_avg, 0.0), np.tile(w_avg, (5, 1)), atol=1e-12)
    np.testing.assert_allclose(truncate(w, w_avg, 1.0), w, atol=1e-12)
    np.testing.assert_allclose(truncate(np.array([[3.0, 1.0]]), np.array([1.0, 1.0]), 0.25),
                               [[1.5, 1.0]])
    half = np.asarray(truncate(w, w_avg, 0.5))
    assert half.shape == (5, 3), f"shape {half.shape}, expected (5, 3)"
    np.testing.assert_allclose(np.linalg.norm(half - w_avg, axis=1),
                               0.5 * np.linalg.norm(w - w_avg, axis=1), rtol=1e-12)


def check_mixed_styles(mixed_styles):
    """Layers before the crossover carry w1, the rest w2, for every crossover 0..L."""
    w1, w2 = np.zeros((2, 3)), np.ones((2, 3))
    for crossover in range(5):
        styles = np.asarray(mixed_styles(w1, w2, crossover, 4), dtype=float)
        assert styles.shape == (4, 2, 3), f"shape {styles.shape}, expected (4, 2, 3)"
        expected = [0.0] * crossover + [1.0] * (4 - crossover)
        np.testing.assert_array_equal(styles[:, 0, 0], expected,
                                      err_msg=f"crossover {crossover}: which layer got which w")
    rng = np.random.default_rng(1)
    w1, w2 = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    styles = np.asarray(mixed_styles(w1, w2, 1, 3))
    np.testing.assert_array_equal(styles[0], w1)
    np.testing.assert_array_equal(styles[2], w2)


def check_r1_quadratic(r1_quadratic):
    """Agrees with minigan's r1_penalty (double backprop) on the same D, for a matrix A
    that is not symmetric; and a hand case: D(x) = b . x has R1 = gamma ||b||^2 / 2."""
    import minigan
    from minigan.gan.penalties import r1_penalty
    assert abs(r1_quadratic(np.zeros((4, 2)), np.zeros((2, 2)), np.array([3.0, 4.0]), 2.0)
               - 25.0) < 1e-9
    rng = np.random.default_rng(2)
    x, A, b = rng.standard_normal((6, 3)), rng.standard_normal((3, 3)), rng.standard_normal(3)
    At, bt = minigan.tensor(A, dtype="float64"), minigan.tensor(b, dtype="float64")

    def D(points):
        return points @ bt + 0.5 * ((points @ At) * points).sum(axis=1)

    expected = r1_penalty(D, minigan.tensor(x, dtype="float64"), gamma=0.7).item()
    np.testing.assert_allclose(r1_quadratic(x, A, b, 0.7), expected, rtol=1e-9)


# --- planted wrong answers -----------------------------------------------------------------
def truncate_towards_zero(w, w_avg, psi):
    """Scales w itself (psi w): right only if w_avg = 0."""
    return psi * np.asarray(w, dtype=float)


def truncate_reversed(w, w_avg, psi):
    """Swaps the roles: w + psi (w_avg - w), so psi = 0 gives w and psi = 1 gives w_avg."""
    w = np.asarray(w, dtype=float)
    return w + psi * (np.asarray(w_avg)[None, :] - w)


def truncate_batch_mean(w, w_avg, psi):
    """Truncates towards the batch's own mean instead of the running w_avg."""
    w = np.asarray(w, dtype=float)
    centre = w.mean(axis=0, keepdims=True)
    return centre + psi * (w - centre)


def mixed_styles_off_by_one(w1, w2, crossover, num_layers):
    """Gives w1 up to and including the crossover layer."""
    return np.stack([w1 if layer <= crossover else w2 for layer in range(num_layers)])


def mixed_styles_swapped(w1, w2, crossover, num_layers):
    """w2 on the coarse layers and w1 on the fine ones."""
    return np.stack([w2 if layer < crossover else w1 for layer in range(num_layers)])


def mixed_styles_counted_from_the_top(w1, w2, crossover, num_layers):
    """Counts the crossover from the last layer: w2 on the last ``crossover`` layers."""
    return np.stack([w2 if layer >= num_layers - crossover else w1
                     for layer in range(num_layers)])


def r1_assumes_symmetric(x, A, b, gamma):
    """Takes grad (x^T A x / 2) = A x, right only for a symmetric A."""
    gradient = np.asarray(b)[None, :] + np.asarray(x) @ np.asarray(A).T
    return float(gamma / 2 * np.mean(np.sum(gradient ** 2, axis=1)))


def r1_without_the_half(x, A, b, gamma):
    """Forgets the 1/2 of gamma / 2."""
    from tests.exercises.ch13_reference import r1_quadratic
    return 2 * r1_quadratic(x, A, b, gamma)


def r1_of_the_norm(x, A, b, gamma):
    """Averages ||grad|| instead of its square."""
    x, A, b = np.asarray(x), np.asarray(A), np.asarray(b)
    gradient = b[None, :] + x @ ((A + A.T) / 2).T
    return float(gamma / 2 * np.mean(np.linalg.norm(gradient, axis=1)))


def r1_summed_over_the_batch(x, A, b, gamma):
    """Sums over the batch instead of averaging."""
    from tests.exercises.ch13_reference import r1_quadratic
    return len(x) * r1_quadratic(x, A, b, gamma)


CHECKS = {"truncate": check_truncate, "mixed_styles": check_mixed_styles,
          "r1_quadratic": check_r1_quadratic}
MUTANTS = {"truncate": [truncate_towards_zero, truncate_reversed, truncate_batch_mean],
           "mixed_styles": [mixed_styles_off_by_one, mixed_styles_swapped,
                            mixed_styles_counted_from_the_top],
           "r1_quadratic": [r1_assumes_symmetric, r1_without_the_half, r1_of_the_norm,
                            r1_summed_over_the_batch]}

test_exercise, test_mutant_is_rejected = make_tests("13", CHECKS, MUTANTS)
