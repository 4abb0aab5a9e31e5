"""Chapter 04's exercises: the ring's centres, the mode-counting protocol, PacGAN's packing and
the unrolled GAN's differentiable SGD step."""
import math

import numpy as np
import pytest

import minigan
from tests.exercises.harness import make_tests

pytestmark = pytest.mark.ch04


def check_ring_centres(ring_centres):
    """n distinct points on the circle of the given radius, the first at (radius, 0), each
    2 pi / n further round (anticlockwise) than the one before."""
    for n, radius in [(8, 1.0), (5, 2.5), (1, 3.0)]:
        centres = np.asarray(ring_centres(n, radius), dtype=np.float64)
        assert centres.shape == (n, 2), f"expected shape ({n}, 2), got {centres.shape}"
        np.testing.assert_allclose(np.hypot(centres[:, 0], centres[:, 1]), radius, rtol=1e-12)
        np.testing.assert_allclose(centres[0], [radius, 0.0], atol=1e-12)
        angles = np.unwrap(np.arctan2(centres[:, 1], centres[:, 0]))
        np.testing.assert_allclose(np.diff(angles), 2 * math.pi / n, rtol=1e-9)


def _ring(n, std, rng):
    """n samples of the 8-mode ring of radius 1, and its centres."""
    angles = np.linspace(0, 2 * math.pi, 8, endpoint=False)
    centres = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return centres[rng.integers(0, 8, n)] + std * rng.standard_normal((n, 2)), centres


def check_mode_statistics(mode_statistics):
    """Known answers: true samples fill every mode with 1 - e^{-9/2} of them high quality and a
    reverse KL near 0; a collapse onto one mode gives 1 mode and log K; far samples give 0
    modes and a NaN KL; and a hand-built set where only the high-quality samples count."""
    rng = np.random.default_rng(0)
    samples, centres = _ring(20000, 0.01, rng)
    modes, quality, kl = mode_statistics(samples, centres, 0.01)
    assert modes == 8
    assert quality == pytest.approx(1 - math.exp(-4.5), abs=0.004)
    assert 0 <= kl < 0.002

    collapsed = centres[3] + 0.01 * rng.standard_normal((500, 2))
    modes, quality, kl = mode_statistics(collapsed, centres, 0.01)
    assert modes == 1 and quality > 0.97 and kl == pytest.approx(math.log(8), abs=1e-12)

    modes, quality, kl = mode_statistics(np.full((10, 2), 5.0), centres, 0.01)
    assert modes == 0 and quality == 0 and math.isnan(kl)

    # 3 high-quality samples on mode 0, 1 on mode 1, and 4 samples 0.04 off mode 2: these are
    # nearest to mode 2 but not high quality, so mode 2 is not captured and counts in no share.
    off = centres[2] + np.array([0.04, 0.0])
    hand = np.concatenate([np.repeat(centres[:1], 3, axis=0), centres[1:2], np.repeat(off[None], 4, 0)])
    modes, quality, kl = mode_statistics(hand, centres, 0.01)
    q = np.array([0.75, 0.25])
    assert modes == 2 and quality == pytest.approx(0.5)
    assert kl == pytest.approx(float(np.sum(q * np.log(8 * q))), rel=1e-9)


def check_pack(pack):
    """Pack i holds samples i m .. i m + m - 1 side by side; m = 1 changes nothing."""
    samples = np.arange(24, dtype=np.float64).reshape(12, 2)
    for m in (1, 2, 3, 4):
        packed = np.asarray(pack(samples, m))
        assert packed.shape == (12 // m, 2 * m), f"m={m}: expected {(12 // m, 2 * m)}, got {packed.shape}"
        for i in range(12 // m):
            np.testing.assert_array_equal(packed[i], samples[i * m:(i + 1) * m].ravel())


def check_sgd_step(sgd_step):
    """theta_1 = theta - lr dL/dtheta, and theta_1 is differentiable: for
    L = sum a (theta - x)^2 / 2, theta_1 = theta - lr a (theta - x), so d sum(theta_1)/dx = lr a
    and d sum(theta_1)/dtheta = 1 - lr a, entry by entry."""
    rng = np.random.default_rng(4)
    a, theta0, x0 = rng.uniform(0.5, 2, 5), rng.standard_normal(5), rng.standard_normal(5)
    theta = minigan.tensor(theta0, requires_grad=True, dtype="float64")
    x = minigan.tensor(x0, requires_grad=True, dtype="float64")
    loss = (minigan.tensor(a, dtype="float64") * (theta - x) ** 2).sum() / 2
    lr = 0.3
    (new,) = sgd_step(loss, [theta], lr)
    np.testing.assert_allclose(new.numpy(), theta0 - lr * a * (theta0 - x0), rtol=1e-12)
    assert new.requires_grad, "the new parameters must be part of the graph (create_graph=True)"
    d_theta, d_x = minigan.grad(new.sum(), [theta, x])
    np.testing.assert_allclose(d_x.numpy(), lr * a, rtol=1e-12)
    np.testing.assert_allclose(d_theta.numpy(), 1 - lr * a, rtol=1e-12)


# --- planted wrong answers -----------------------------------------------------------------
def ring_centres_with_endpoint(n_modes, radius):
    """linspace(0, 2 pi, n) with its endpoint: the last centre lands on the first."""
    angles = np.linspace(0, 2 * math.pi, n_modes)
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def ring_centres_clockwise(n_modes, radius):
    """Goes round the wrong way."""
    angles = -np.linspace(0, 2 * math.pi, n_modes, endpoint=False)
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


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


def pack_strided(samples, m):
    """Packs samples i, i + n, i + 2n, ... (a transposed reshape) instead of consecutive ones."""
    n = len(samples) // m
    return samples.reshape(m, n, -1).transpose(1, 0, 2).reshape(n, -1)


def pack_repeats_one_sample(samples, m):
    """Repeats each pack's first sample m times: D sees one sample, not m."""
    first = samples[::m]
    return np.concatenate([first] * m, axis=1)


def sgd_step_not_differentiable(loss, parameters, lr):
    """Takes the gradient without create_graph: the new parameters forget how they were made."""
    gradients = minigan.grad(loss, list(parameters))
    return [p.detach() - lr * g for p, g in zip(parameters, gradients)]


def sgd_step_ascends(loss, parameters, lr):
    """Steps up the gradient instead of down."""
    gradients = minigan.grad(loss, list(parameters), create_graph=True)
    return [p + lr * g for p, g in zip(parameters, gradients)]


CHECKS = {"ring_centres": check_ring_centres, "mode_statistics": check_mode_statistics,
          "pack": check_pack, "sgd_step": check_sgd_step}
MUTANTS = {"ring_centres": [ring_centres_with_endpoint, ring_centres_clockwise],
           "mode_statistics": [mode_statistics_counts_every_sample, mode_statistics_forward_kl,
                               mode_statistics_one_std],
           "pack": [pack_strided, pack_repeats_one_sample],
           "sgd_step": [sgd_step_not_differentiable, sgd_step_ascends]}

test_exercise, test_mutant_is_rejected = make_tests("04", CHECKS, MUTANTS)
