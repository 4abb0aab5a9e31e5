"""Chapter 13's exercises: the truncation trick, the style-mixing crossover, R1 by hand."""
import numpy as np
import pytest

from tests.exercises.harness import make_tests

pytestmark = pytest.mark.ch13


def _assert_close(got, expected, what):
    """``got`` equals ``expected`` entrywise; else name the first entry that differs."""
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    assert got.shape == expected.shape, f"{what}: expected shape {expected.shape}, got {got.shape}"
    wrong = ~np.isclose(got, expected, rtol=1e-10, atol=1e-12)
    if wrong.any():
        at = tuple(int(i) for i in np.argwhere(wrong)[0])
        raise AssertionError(f"{what}: at index {at} expected {expected[at]:.6g}, got "
                             f"{got[at]:.6g} ({wrong.sum()} of {wrong.size} entries wrong)")


def check_truncate(truncate):
    """psi = 0 gives w_avg in every row, psi = 1 gives w; hand-computed cases (one with a
    negative psi, which goes past w_avg); random batches, one as wide as it is long, at
    several psi against the formula; each row's distance from w_avg scales by |psi|; the
    arrays passed in are unchanged."""
    rng = np.random.default_rng(0)
    w, w_avg = rng.standard_normal((5, 3)), rng.standard_normal(3)
    _assert_close(truncate(w.copy(), w_avg.copy(), 0.0), np.tile(w_avg, (5, 1)),
                  "psi = 0: every row becomes w_avg")
    _assert_close(truncate(w.copy(), w_avg.copy(), 1.0), w, "psi = 1: w unchanged")
    _assert_close(truncate(np.array([[3.0, 1.0]]), np.array([1.0, 1.0]), 0.25), [[1.5, 1.0]],
                  "w = [[3, 1]], w_avg = [1, 1], psi = 0.25")
    _assert_close(truncate(np.array([[2.0, 0.0], [0.0, 4.0]]), np.array([1.0, 2.0]), -0.5),
                  [[0.5, 3.0], [1.5, 1.0]], "w = [[2, 0], [0, 4]], w_avg = [1, 2], psi = -0.5")
    for shape in [(5, 3), (3, 3)]:
        w, w_avg = rng.standard_normal(shape), rng.standard_normal(shape[1])
        for psi in (0.5, 0.7, -0.5, 1.5):
            w_in, avg_in = w.copy(), w_avg.copy()
            got = truncate(w_in, avg_in, psi)
            assert np.array_equal(w_in, w) and np.array_equal(avg_in, w_avg), \
                "the w and w_avg passed in must not change"
            _assert_close(got, w_avg + psi * (w - w_avg),
                          f"w {shape}, psi = {psi}: w_avg + psi (w - w_avg)")
            np.testing.assert_allclose(
                np.linalg.norm(np.asarray(got, dtype=float) - w_avg, axis=1),
                abs(psi) * np.linalg.norm(w - w_avg, axis=1), rtol=1e-10,
                err_msg=f"psi = {psi}: each row's distance from w_avg must scale by |psi|")


def check_mixed_styles(mixed_styles):
    """Layers before the crossover carry w1, the rest w2, for every crossover 0..L, on
    styles that differ in every entry; the w1 and w2 passed in are unchanged."""
    w1, w2 = np.zeros((2, 3)), np.ones((2, 3))
    for crossover in range(5):
        styles = np.asarray(mixed_styles(w1, w2, crossover, 4), dtype=float)
        assert styles.shape == (4, 2, 3), \
            f"4 layers, w (2, 3): expected shape (4, 2, 3), got {styles.shape}"
        got = ["w1" if (layer == 0).all() else "w2" if (layer == 1).all() else "mixed"
               for layer in styles]
        expected = ["w1"] * crossover + ["w2"] * (4 - crossover)
        assert got == expected, f"crossover {crossover} of 4 layers: expected {expected}, got {got}"
    rng = np.random.default_rng(1)
    w1, w2 = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    for crossover in range(6):
        w1_in, w2_in = w1.copy(), w2.copy()
        styles = mixed_styles(w1_in, w2_in, crossover, 5)
        assert np.array_equal(w1_in, w1) and np.array_equal(w2_in, w2), \
            "the w1 and w2 passed in must not change"
        _assert_close(styles, np.stack([w1] * crossover + [w2] * (5 - crossover)),
                      f"crossover {crossover} of 5 layers, random w1 and w2 (3, 2)")


def _r1_by_differences(x, A, b, gamma):
    """R1 with the gradient from central differences, which are exact for a quadratic D."""
    def D(points):
        return points @ b + 0.5 * np.einsum("ni,ij,nj->n", points, A, points)

    steps = np.eye(x.shape[1])
    gradient = np.stack([(D(x + e) - D(x - e)) / 2 for e in steps], axis=1)
    return gamma / 2 * np.mean(np.sum(gradient ** 2, axis=1))


def check_r1_quadratic(r1_quadratic):
    """Hand cases: D(x) = b . x has R1 = gamma ||b||^2 / 2; D(x) = x1 x2 (A = [[0, 2], [0, 0]])
    has gradient (x2, x1). Agrees with minigan's r1_penalty (double backprop) on the same D,
    and with central differences, for matrices A that are not symmetric and batches as wide
    as long; the arrays passed in are unchanged."""
    import minigan
    from minigan.gan.penalties import r1_penalty
    for gamma, expected in [(2.0, 25.0), (0.5, 6.25)]:
        got = float(r1_quadratic(np.zeros((4, 2)), np.zeros((2, 2)), np.array([3.0, 4.0]), gamma))
        assert got == pytest.approx(expected, rel=1e-12), \
            (f"D(x) = b . x, b = (3, 4), gamma = {gamma}: expected gamma ||b||^2 / 2 = {expected}, "
             f"got {got:.6g}")
    x, A = np.array([[1.0, 1.0], [2.0, -1.0]]), np.array([[0.0, 2.0], [0.0, 0.0]])
    got = float(r1_quadratic(x, A, np.zeros(2), 1.0))
    assert got == pytest.approx(0.5 * (2 + 5) / 2, rel=1e-12), \
        (f"D(x) = x1 x2 at (1, 1) and (2, -1): gradients (1, 1) and (-1, 2), expected "
         f"R1 = 1/2 (2 + 5) / 2 = 1.75, got {got:.6g}")
    rng = np.random.default_rng(2)
    for n, d in [(6, 3), (3, 3), (5, 4)]:
        x, A, b = rng.standard_normal((n, d)), rng.standard_normal((d, d)), rng.standard_normal(d)
        given = [x.copy(), A.copy(), b.copy()]
        got = float(r1_quadratic(*given, 0.7))
        assert all(np.array_equal(g, v) for g, v in zip(given, (x, A, b))), \
            "the x, A and b passed in must not change"
        At, bt = minigan.tensor(A, dtype="float64"), minigan.tensor(b, dtype="float64")

        def D(points):
            return points @ bt + 0.5 * ((points @ At) * points).sum(axis=1)

        expected = r1_penalty(D, minigan.tensor(x, dtype="float64"), gamma=0.7).item()
        assert got == pytest.approx(expected, rel=1e-9), \
            (f"x ({n}, {d}), a random A: r1_penalty by double backprop gives {expected:.6f}, "
             f"got {got:.6f}")
        by_differences = _r1_by_differences(x, A, b, 0.7)
        assert got == pytest.approx(by_differences, rel=1e-9), \
            f"x ({n}, {d}): R1 from central differences of D is {by_differences:.6f}, got {got:.6f}"


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


def truncate_in_place(w, w_avg, psi):
    """Right values, computed in the caller's w: the styles passed in are lost."""
    w = np.asarray(w)
    w -= w_avg
    w *= psi
    w += w_avg
    return w


def truncate_centre_as_a_column(w, w_avg, psi):
    """w_avg[:, None]: the centre broadcast along the wrong axis."""
    centre = np.asarray(w_avg, dtype=float)[:, None]
    return centre + psi * (np.asarray(w, dtype=float) - centre)


def truncate_psi_clipped(w, w_avg, psi):
    """Clips psi into [0, 1]: no step past w_avg for a negative psi, nor past w above 1."""
    from tests.exercises.ch13_reference import truncate
    return truncate(w, w_avg, min(max(psi, 0.0), 1.0))


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


def mixed_styles_across_samples(w1, w2, crossover, num_layers):
    """Applies the crossover to the samples: samples 0 .. crossover - 1 take w1 in every layer."""
    styles = np.stack([np.asarray(w2, dtype=float)] * num_layers)
    styles[:, :crossover] = np.asarray(w1)[:crossover]
    return styles


def mixed_styles_one_layer_short(w1, w2, crossover, num_layers):
    """w1 only up to layer crossover - 2: off by one the other way."""
    return np.stack([w1 if layer < crossover - 1 else w2 for layer in range(num_layers)])


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


def r1_without_b(x, A, b, gamma):
    """Drops the linear term's gradient b."""
    from tests.exercises.ch13_reference import r1_quadratic
    return r1_quadratic(x, A, np.zeros_like(np.asarray(b, dtype=float)), gamma)


def r1_mean_over_coordinates(x, A, b, gamma):
    """Averages the squared gradient over the coordinates too: ||grad||^2 / d."""
    from tests.exercises.ch13_reference import r1_quadratic
    return r1_quadratic(x, A, b, gamma) / np.shape(x)[1]


def r1_symmetrises_A_in_place(x, A, b, gamma):
    """Right value, but replaces the caller's A by (A + A^T) / 2."""
    A = np.asarray(A)
    A[...] = (A + A.T) / 2
    gradient = np.asarray(b)[None, :] + np.asarray(x) @ A
    return float(gamma / 2 * np.mean(np.sum(gradient ** 2, axis=1)))


CHECKS = {"truncate": check_truncate, "mixed_styles": check_mixed_styles,
          "r1_quadratic": check_r1_quadratic}
MUTANTS = {"truncate": [truncate_towards_zero, truncate_reversed, truncate_batch_mean,
                        truncate_in_place, truncate_centre_as_a_column, truncate_psi_clipped],
           "mixed_styles": [mixed_styles_off_by_one, mixed_styles_swapped,
                            mixed_styles_counted_from_the_top, mixed_styles_across_samples,
                            mixed_styles_one_layer_short],
           "r1_quadratic": [r1_assumes_symmetric, r1_without_the_half, r1_of_the_norm,
                            r1_summed_over_the_batch, r1_without_b, r1_mean_over_coordinates,
                            r1_symmetrises_A_in_place]}

test_exercise, test_mutant_is_rejected = make_tests("13", CHECKS, MUTANTS)
