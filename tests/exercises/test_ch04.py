"""Chapter 04's exercises: the ring's centres, the mode-counting protocol, PacGAN's packing and
the unrolled GAN's differentiable SGD step."""
import math

import numpy as np
import pytest

import minigan
from tests.exercises.harness import make_tests

pytestmark = pytest.mark.ch04


def _unchanged(before, after, name):
    assert np.array_equal(before, after), f"your answer changed its input {name} in place"


def check_ring_centres(ring_centres):
    """Centre k is radius (cos 2 pi k / n, sin 2 pi k / n): the first at (radius, 0), each
    2 pi / n further round, anticlockwise, than the one before; for several n and radii."""
    for n, radius in [(8, 1.0), (5, 2.5), (3, 0.5), (2, 4.0), (1, 3.0)]:
        centres = np.asarray(ring_centres(n, radius), dtype=np.float64)
        case = f"ring_centres({n}, {radius})"
        assert centres.shape == (n, 2), f"{case}: expected shape ({n}, 2), got {centres.shape}"
        lengths = np.hypot(centres[:, 0], centres[:, 1])
        assert np.allclose(lengths, radius, rtol=1e-9), \
            f"{case}: every centre should be {radius} from the origin, got {lengths}"
        assert np.allclose(centres[0], [radius, 0.0], atol=1e-9 * radius), \
            f"{case}: the first centre should be ({radius}, 0), got {centres[0]}"
        # The step from one angle to the next, taken in [0, 2 pi): a clockwise step of
        # 2 pi / n shows as 2 pi - 2 pi / n.
        steps = np.mod(np.diff(np.arctan2(centres[:, 1], centres[:, 0])), 2 * math.pi)
        assert np.allclose(steps, 2 * math.pi / n, rtol=1e-9), (
            f"{case}: each centre should be 2 pi / {n} = {2 * math.pi / n:.4f} further round "
            f"(anticlockwise) than the one before, got steps {steps.round(4)}")
        k = np.arange(n)
        expected = radius * np.stack([np.cos(2 * math.pi * k / n),
                                      np.sin(2 * math.pi * k / n)], axis=1)
        np.testing.assert_allclose(centres, expected, atol=1e-9 * radius, err_msg=case)


def _ring(n, std, rng):
    """n samples of the 8-mode ring of radius 1, and its centres."""
    angles = np.linspace(0, 2 * math.pi, 8, endpoint=False)
    centres = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return centres[rng.integers(0, 8, n)] + std * rng.standard_normal((n, 2)), centres


def _statistics(mode_statistics, samples, centres, std, case):
    """The learner's (modes, high_quality, reverse_kl), as numbers, inputs left unchanged."""
    copies = samples.copy(), centres.copy()
    result = mode_statistics(samples, centres, std)
    assert len(result) == 3, f"{case}: expected (modes, high_quality, reverse_kl), got {result}"
    _unchanged(copies[0], samples, "samples")
    _unchanged(copies[1], centres, "centres")
    modes, quality, kl = result
    return int(modes), float(quality), float(kl)


def _expect(case, got, modes, quality, kl):
    """Compare (modes, high_quality, reverse_kl) with the values worked out by hand."""
    expected = (modes, quality, kl)
    same = (got[0] == modes and math.isclose(got[1], quality, rel_tol=1e-9)
            and (math.isnan(got[2]) if math.isnan(kl) else math.isclose(got[2], kl, rel_tol=1e-9)))
    assert same, (f"{case}: expected (modes, high_quality, reverse_kl) = "
                  f"({expected[0]}, {expected[1]:.4f}, {expected[2]:.4f}), got "
                  f"({got[0]}, {got[1]:.4f}, {got[2]:.4f})")


def check_mode_statistics(mode_statistics):
    """Known answers: true samples fill every mode with 1 - e^{-9/2} of them high quality and a
    reverse KL near 0; a collapse onto one mode gives 1 mode and log K; far samples give 0
    modes and a NaN KL; and two hand-built sets where only the high-quality samples count, the
    distance is Euclidean and a sample exactly 3 std away is not high quality."""
    rng = np.random.default_rng(0)
    samples, centres = _ring(20000, 0.01, rng)
    modes, quality, kl = _statistics(mode_statistics, samples, centres, 0.01, "true samples")
    assert modes == 8, f"true samples of the ring: expected all 8 modes, got {modes}"
    assert quality == pytest.approx(1 - math.exp(-4.5), abs=0.004), (
        f"true samples of the ring: expected a high-quality share of 1 - exp(-9/2) = 0.989 "
        f"(a 2-D Gaussian's mass within 3 std), got {quality:.4f}")
    assert 0 <= kl < 0.002, f"true samples of the ring: expected a reverse KL near 0, got {kl:.4f}"

    collapsed = centres[3] + 0.01 * rng.standard_normal((500, 2))
    modes, quality, kl = _statistics(mode_statistics, collapsed, centres, 0.01, "collapsed")
    assert modes == 1 and quality > 0.97 and kl == pytest.approx(math.log(8), abs=1e-12), (
        f"all samples on one of 8 modes: expected 1 mode, a high-quality share near 0.99 and a "
        f"reverse KL of log 8 = 2.0794, got ({modes}, {quality:.4f}, {kl:.4f})")

    far = _statistics(mode_statistics, np.full((10, 2), 5.0), centres, 0.01, "far")
    assert far[0] == 0 and far[1] == 0 and math.isnan(far[2]), (
        f"samples far from every mode: expected (0, 0, nan) (q is undefined), got {far}")

    # 3 high-quality samples on mode 0, 1 on mode 1, and 4 samples 0.04 off mode 2: these are
    # nearest to mode 2 but not high quality, so mode 2 is not captured and counts in no share.
    off = centres[2] + np.array([0.04, 0.0])
    hand = np.concatenate([np.repeat(centres[:1], 3, axis=0), centres[1:2], np.repeat(off[None], 4, 0)])
    q = np.array([0.75, 0.25])
    _expect("3 samples on mode 0, 1 on mode 1, 4 at 4 std from mode 2",
            _statistics(mode_statistics, hand, centres, 0.01, "hand-built"),
            2, 0.5, float(np.sum(q * np.log(8 * q))))

    # A 3 x 3 grid 4 apart with std 0.5 (3 std = 1.5); every number is exact in binary.
    grid = np.array([(a, b) for a in (-4.0, 0.0, 4.0) for b in (-4.0, 0.0, 4.0)])
    offsets = [(0, (0.0, 0.0)),      # on mode 0: high quality
               (0, (1.5, 0.0)),      # exactly 3 std from mode 0: not below 3 std
               (4, (1.0, 1.0)),      # 1.41 from mode 4: high quality (Euclidean, not |dx| + |dy|)
               (4, (-1.25, 0.5)),    # 1.35 from mode 4: high quality
               (8, (1.25, 1.25)),    # 1.77 from mode 8: not (Euclidean, not max(|dx|, |dy|))
               (8, (0.0, -0.75)),    # high quality
               (4, (2.25, 1.75))]    # nearest to mode 4 but 2.85 away
    hand = np.array([grid[k] + offset for k, offset in offsets])
    q = np.array([0.25, 0.5, 0.25])
    _expect("the 3 x 3 grid with std 0.5",
            _statistics(mode_statistics, hand, grid, 0.5, "the 3 x 3 grid"),
            3, 4 / 7, float(np.sum(q * np.log(9 * q))))


def check_pack(pack):
    """Pack i holds samples i m .. i m + m - 1 side by side, each sample's coordinates in
    order; for several m and dimensions; m = 1 changes nothing."""
    rng = np.random.default_rng(3)
    for dim in (2, 3, 1):
        samples = np.arange(12 * dim, dtype=np.float64).reshape(12, dim) + rng.random((12, dim))
        copy = samples.copy()
        for m in (1, 2, 3, 4):
            packed = np.asarray(pack(samples, m))
            expected = np.stack([np.concatenate(samples[i * m:(i + 1) * m])
                                 for i in range(12 // m)])
            assert packed.shape == expected.shape, \
                f"pack of 12 samples of {dim} coordinates with m = {m}: expected shape " \
                f"{expected.shape}, got {packed.shape}"
            for i in range(12 // m):
                np.testing.assert_array_equal(
                    packed[i], expected[i],
                    err_msg=f"dim = {dim}, m = {m}: pack {i} should be samples "
                            f"{i * m}..{i * m + m - 1} side by side")
            _unchanged(copy, samples, "samples")


def _new_parameters(sgd_step, loss, parameters, lr, names):
    """The learner's step as a list, one new Tensor per parameter, parameters unchanged."""
    before = [p.numpy().copy() for p in parameters]
    new = sgd_step(loss, parameters, lr)
    assert new is not None, "sgd_step returned None: return the list of new parameters"
    new = list(new)
    assert len(new) == len(parameters), (
        f"expected a list of {len(parameters)} new Tensor(s), one per parameter "
        f"({', '.join(names)}), got {len(new)} items")
    for p, value, name in zip(parameters, before, names):
        assert np.array_equal(p.numpy(), value), \
            f"your step changed {name} in place: return new Tensors, leave the parameters as they are"
    for t, name in zip(new, names):
        assert isinstance(t, minigan.Tensor), \
            f"new {name}: expected a minigan Tensor, got {type(t).__name__}"
    return new


def _derivatives(outputs, weights, inputs, names):
    """d sum_i (weights_i * outputs_i)/d input for each input, naming any that is missing."""
    found = minigan.grad(outputs, inputs,
                         grad_outputs=[minigan.tensor(w, dtype="float64") for w in weights],
                         retain_graph=True, allow_unused=True)
    for gradient, name in zip(found, names):
        assert gradient is not None, (
            f"the new parameters do not depend on {name}: after backward from them, {name}.grad "
            f"is None. Build p - lr * g from the parameter Tensors and a gradient g taken with "
            f"create_graph=True, so that the step stays in the graph")
    return [g.numpy() for g in found]


def _check_steps_on_a_quadratic(sgd_step):
    """L = sum a (theta - x)^2 / 2: theta_1 = theta - lr a (theta - x) = s theta + (1 - s) x with
    s = 1 - lr a, entry by entry; a second step gives theta_2 = s^2 theta + (1 - s^2) x."""
    rng = np.random.default_rng(4)
    a, theta0, x0 = rng.uniform(0.5, 2, 5), rng.standard_normal(5), rng.standard_normal(5)
    theta = minigan.tensor(theta0, requires_grad=True, dtype="float64")
    x = minigan.tensor(x0, requires_grad=True, dtype="float64")
    # What backward() left from an earlier step: .grad accumulates, the step must not read it.
    theta.grad = minigan.tensor(np.full(5, 7.0), dtype="float64")

    def loss_at(t):
        return (minigan.tensor(a, dtype="float64") * (t - x) ** 2).sum() / 2

    lr, s = 0.3, 1 - 0.3 * a
    (first,) = _new_parameters(sgd_step, loss_at(theta), [theta], lr, ["theta"])
    expected = s * theta0 + (1 - s) * x0
    assert not np.allclose(first.numpy(), expected - lr * 7.0, rtol=1e-12), (
        "theta_1 includes the stale gradient that theta.grad held from an earlier step (7s): "
        "backward() adds to .grad; take the gradient with minigan.grad instead")
    np.testing.assert_allclose(first.numpy(), expected, rtol=1e-12,
                               err_msg="theta_1 = theta - lr dL/dtheta")
    assert first.requires_grad, "the new parameters must be part of the graph (create_graph=True)"
    d_theta, d_x = _derivatives([first], [np.ones(5)], [theta, x], ["theta", "x"])
    np.testing.assert_allclose(d_x, 1 - s, rtol=1e-12, err_msg="d sum(theta_1)/dx = lr a")
    np.testing.assert_allclose(d_theta, s, rtol=1e-12, err_msg="d sum(theta_1)/dtheta = 1 - lr a")

    try:
        (second,) = _new_parameters(sgd_step, loss_at(first), [first], lr, ["theta_1"])
    except (TypeError, AttributeError) as error:
        if first.grad is not None:
            raise
        raise AssertionError(
            f"sgd_step failed on theta_1, a parameter made by an earlier step ({error}). "
            f"theta_1.grad is None: backward() fills .grad of leaf tensors only. Take the "
            f"gradient with minigan.grad(loss, parameters, create_graph=True)") from error
    np.testing.assert_allclose(second.numpy(), s ** 2 * theta0 + (1 - s ** 2) * x0, rtol=1e-12,
                               err_msg="theta_2, a step from theta_1")
    d_theta, d_x = _derivatives([second], [np.ones(5)], [theta, x], ["theta", "x"])
    np.testing.assert_allclose(d_x, 1 - s ** 2, rtol=1e-12,
                               err_msg="d sum(theta_2)/dx = 1 - (1 - lr a)^2")
    np.testing.assert_allclose(d_theta, s ** 2, rtol=1e-12,
                               err_msg="d sum(theta_2)/dtheta = (1 - lr a)^2")


def _check_two_parameters(sgd_step):
    """W (3, 2) and b (2,) of L = sum c (x W + b)^2 / 2: the new W and b, and the derivatives
    of sum(u * new W) + sum(v * new b) with respect to x, W and b, against central differences
    of the step written out in NumPy. Those are exact here (up to round-off), as the step is
    quadratic in x and linear in W and b."""
    rng = np.random.default_rng(5)
    values = {"x": rng.standard_normal((4, 3)), "W": rng.standard_normal((3, 2)),
              "b": rng.standard_normal(2)}
    c, lr = rng.uniform(0.5, 2, (4, 2)), 0.1
    u, v = rng.standard_normal((3, 2)), rng.standard_normal(2)

    def step_in_numpy(x, W, b):
        residual = c * (x @ W + b)
        new_w, new_b = W - lr * x.T @ residual, b - lr * residual.sum(axis=0)
        return new_w, new_b, float(np.sum(u * new_w) + np.sum(v * new_b))

    tensors = {k: minigan.tensor(t, requires_grad=True, dtype="float64") for k, t in values.items()}
    loss = (minigan.tensor(c, dtype="float64")
            * (tensors["x"] @ tensors["W"] + tensors["b"]) ** 2).sum() / 2
    new_w, new_b = _new_parameters(sgd_step, loss, [tensors["W"], tensors["b"]], lr, ["W", "b"])
    expected_w, expected_b, _ = step_in_numpy(**values)
    np.testing.assert_allclose(new_w.numpy(), expected_w, rtol=1e-12, atol=1e-12,
                               err_msg="the new W = W - lr dL/dW (the first of [W, b])")
    np.testing.assert_allclose(new_b.numpy(), expected_b, rtol=1e-12, atol=1e-12,
                               err_msg="the new b = b - lr dL/db (the second of [W, b])")
    found = _derivatives([new_w, new_b], [u, v], list(tensors.values()), list(tensors))
    for (name, value), derivative in zip(values.items(), found):
        expected = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            up, down = ({k: t.copy() for k, t in values.items()} for _ in range(2))
            up[name][index] += 1.0
            down[name][index] -= 1.0
            expected[index] = (step_in_numpy(**up)[2] - step_in_numpy(**down)[2]) / 2
        np.testing.assert_allclose(
            derivative, expected, rtol=1e-9, atol=1e-9,
            err_msg=f"the derivative of sum(u * new W) + sum(v * new b) with respect to {name}")


def check_sgd_step(sgd_step):
    """theta_1 = theta - lr dL/dtheta, and theta_1 is differentiable:

    * for L = sum a (theta - x)^2 / 2, d sum(theta_1)/dx = lr a and d sum(theta_1)/dtheta =
      1 - lr a, entry by entry, whatever stale gradient theta.grad holds;
    * a second step from theta_1, which is not a leaf (its .grad stays None), gives
      d theta_2/dx = 1 - (1 - lr a)^2 and d theta_2/dtheta = (1 - lr a)^2;
    * with two parameters, each gets its own step, in order, and the derivatives of the
      new parameters with respect to the data and both parameters are right.
    """
    _check_steps_on_a_quadratic(sgd_step)
    _check_two_parameters(sgd_step)


# --- planted wrong answers -----------------------------------------------------------------
def ring_centres_with_endpoint(n_modes, radius):
    """linspace(0, 2 pi, n) with its endpoint: the last centre lands on the first."""
    angles = np.linspace(0, 2 * math.pi, n_modes)
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def ring_centres_clockwise(n_modes, radius):
    """Goes round the wrong way."""
    angles = -np.linspace(0, 2 * math.pi, n_modes, endpoint=False)
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def ring_centres_unit_radius(n_modes, radius):
    """Forgets the radius: every ring has radius 1."""
    angles = np.linspace(0, 2 * math.pi, n_modes, endpoint=False)
    return np.stack([np.cos(angles), np.sin(angles)], axis=1)


def _nearest(samples, centres):
    distances = np.linalg.norm(samples[:, None, :] - centres[None, :, :], axis=2)
    return distances.argmin(axis=1), distances.min(axis=1)


def _kl(counts):
    if counts.sum() == 0:
        return float("nan")
    q = counts[counts > 0] / counts.sum()
    return float(np.sum(q * np.log(len(counts) * q)))


def mode_statistics_counts_every_sample(samples, centres, std):
    """Captures a mode with any nearest sample, high quality or not."""
    index, distance = _nearest(samples, centres)
    good = distance < 3 * std
    counts = np.bincount(index, minlength=len(centres))
    return (int(np.count_nonzero(counts)), float(good.mean()),
            _kl(np.bincount(index[good], minlength=len(centres))))


def mode_statistics_forward_kl(samples, centres, std):
    """Takes KL(p || q) instead of KL(q || p): infinite as soon as a mode is empty."""
    index, distance = _nearest(samples, centres)
    good = distance < 3 * std
    counts = np.bincount(index[good], minlength=len(centres))
    with np.errstate(divide="ignore"):
        q = counts / max(counts.sum(), 1)
        kl = float(np.sum(np.log(1 / len(counts) / q)) / len(counts)) if counts.sum() else float("nan")
    return int(np.count_nonzero(counts)), float(good.mean()), kl


def mode_statistics_one_std(samples, centres, std):
    """Calls a sample high quality within 1 standard deviation instead of 3."""
    index, distance = _nearest(samples, centres)
    good = distance < std
    counts = np.bincount(index[good], minlength=len(centres))
    return int(np.count_nonzero(counts)), float(good.mean()), _kl(counts)


def mode_statistics_up_to_3_std(samples, centres, std):
    """Calls a sample exactly 3 std away high quality: <= where the rule says below."""
    index, distance = _nearest(samples, centres)
    good = distance <= 3 * std
    counts = np.bincount(index[good], minlength=len(centres))
    return int(np.count_nonzero(counts)), float(good.mean()), _kl(counts)


def mode_statistics_largest_coordinate(samples, centres, std):
    """Measures the distance by its largest coordinate, max(|dx|, |dy|), not Euclidean."""
    distances = np.abs(samples[:, None, :] - centres[None, :, :]).max(axis=2)
    index, distance = distances.argmin(axis=1), distances.min(axis=1)
    good = distance < 3 * std
    counts = np.bincount(index[good], minlength=len(centres))
    return int(np.count_nonzero(counts)), float(good.mean()), _kl(counts)


def mode_statistics_eight_modes(samples, centres, std):
    """Writes p_k = 1/8, the ring's: wrong for any other number of modes."""
    index, distance = _nearest(samples, centres)
    good = distance < 3 * std
    counts = np.bincount(index[good], minlength=len(centres))
    q = counts[counts > 0] / max(counts.sum(), 1)
    kl = float(np.sum(q * np.log(8 * q))) if counts.sum() else float("nan")
    return int(np.count_nonzero(counts)), float(good.mean()), kl


def pack_strided(samples, m):
    """Packs samples i, i + n, i + 2n, ... (a transposed reshape) instead of consecutive ones."""
    n = len(samples) // m
    return samples.reshape(m, n, -1).transpose(1, 0, 2).reshape(n, -1)


def pack_repeats_one_sample(samples, m):
    """Repeats each pack's first sample m times: D sees one sample, not m."""
    first = samples[::m]
    return np.concatenate([first] * m, axis=1)


def pack_coordinates_interleaved(samples, m):
    """Puts the packed samples' first coordinates first, then their second ones, ..."""
    n = len(samples) // m
    return samples.reshape(n, m, -1).transpose(0, 2, 1).reshape(n, -1)


def sgd_step_not_differentiable(loss, parameters, lr):
    """Takes the gradient without create_graph: the new parameters forget how they were made."""
    gradients = minigan.grad(loss, list(parameters))
    return [p.detach() - lr * g for p, g in zip(parameters, gradients)]


def sgd_step_ascends(loss, parameters, lr):
    """Steps up the gradient instead of down."""
    gradients = minigan.grad(loss, list(parameters), create_graph=True)
    return [p + lr * g for p, g in zip(parameters, gradients)]


def sgd_step_gradient_detached(loss, parameters, lr):
    """Builds the graph, then detaches the gradient: theta_1 no longer depends on x."""
    gradients = minigan.grad(loss, list(parameters), create_graph=True)
    return [p - lr * g.detach() for p, g in zip(parameters, gradients)]


def sgd_step_reads_grad(loss, parameters, lr):
    """Reads p.grad after backward: adds a stale gradient, and is None for a non-leaf."""
    loss.backward(create_graph=True)
    return [p - lr * p.grad for p in parameters]


CHECKS = {"ring_centres": check_ring_centres, "mode_statistics": check_mode_statistics,
          "pack": check_pack, "sgd_step": check_sgd_step}
MUTANTS = {"ring_centres": [ring_centres_with_endpoint, ring_centres_clockwise,
                            ring_centres_unit_radius],
           "mode_statistics": [mode_statistics_counts_every_sample, mode_statistics_forward_kl,
                               mode_statistics_one_std, mode_statistics_up_to_3_std,
                               mode_statistics_largest_coordinate, mode_statistics_eight_modes],
           "pack": [pack_strided, pack_repeats_one_sample, pack_coordinates_interleaved],
           "sgd_step": [sgd_step_not_differentiable, sgd_step_ascends,
                        sgd_step_gradient_detached, sgd_step_reads_grad]}

test_exercise, test_mutant_is_rejected = make_tests("04", CHECKS, MUTANTS)
