"""The Dirac-GAN of minigan.gan.dynamics against its closed forms (Mescheder et al. 2018).

The field computed by autograd (through minigan's losses and penalties) equals the paper's
formulas; the Jacobians and update maps have the eigenvalues the paper derives; and the
trajectories that minigan's optimizers produce grow or shrink at the rates those eigenvalues
predict.
"""
import numpy as np
import pytest

from minigan.gan import dynamics

POINTS = [(0.3, 0.7), (-1.2, 0.4), (2.0, -1.5), (0.0, 0.0), (0.5, -0.01)]


def sigmoid(t):
    return 1 / (1 + np.exp(-t))


@pytest.mark.parametrize("point", POINTS)
def test_field_by_autograd_is_the_papers_formula(point):
    """v = (-psi f'(psi theta), theta f'(psi theta)) with f' = sigmoid(-t) (standard) or 1 (WGAN);
    R1 adds -gamma psi to D's component; WGAN-GP adds -gamma sign(psi) (|psi| - 1)."""
    theta, psi = point
    fp = sigmoid(-psi * theta)
    np.testing.assert_allclose(dynamics.vector_field(point), [-psi * fp, theta * fp], atol=1e-15)
    np.testing.assert_allclose(dynamics.vector_field(point, loss="wasserstein"), [-psi, theta],
                               atol=1e-15)
    np.testing.assert_allclose(dynamics.vector_field(point, regulariser="r1", gamma=0.3),
                               [-psi * fp, theta * fp - 0.3 * psi], atol=1e-15)
    gp = dynamics.vector_field(point, loss="wasserstein", regulariser="wgan-gp", gamma=2.0)
    np.testing.assert_allclose(gp, [-psi, theta - 2.0 * np.sign(psi) * (abs(psi) - 1)],
                               atol=1e-5)


def numerical_jacobian(**game):
    e = 1e-6
    columns = [(dynamics.vector_field(d, **game) - dynamics.vector_field(-d, **game)) / (2 * e)
               for d in (np.array([e, 0.0]), np.array([0.0, e]))]
    return np.array(columns).T


@pytest.mark.parametrize("game", [dict(), dict(loss="wasserstein"), dict(gamma=0.3),
                                  dict(noise_std=0.8), dict(gamma=0.2, noise_std=0.5)])
def test_jacobian_at_the_equilibrium(game):
    """The closed form [[0, -f'(0)], [f'(0), -gamma + 2 f''(0) sigma^2]] is the field's
    derivative at (0, 0), which is a zero of the field."""
    regulariser = "r1" if game.get("gamma") else None
    field_game = dict(game, regulariser=regulariser)
    np.testing.assert_allclose(dynamics.vector_field([0.0, 0.0], **field_game), 0, atol=1e-15)
    np.testing.assert_allclose(numerical_jacobian(**field_game), dynamics.jacobian(**game),
                               atol=1e-8)


def test_eigenvalues_rotation_and_regularised():
    """Unregularised: +-i f'(0). With R1: -gamma/2 +- sqrt(gamma^2/4 - f'(0)^2), also past the
    critical damping gamma = 2 f'(0), where they turn real."""
    eig = np.sort_complex(np.linalg.eigvals(dynamics.jacobian()))
    np.testing.assert_allclose(eig, [-0.5j, 0.5j], atol=1e-15)
    for gamma in (0.3, 1.0, 2.5):
        expected = np.sort_complex(dynamics.regularised_eigenvalues(0.5, gamma))
        got = np.sort_complex(np.linalg.eigvals(dynamics.jacobian(gamma=gamma)))
        np.testing.assert_allclose(got, expected, atol=1e-7)
        assert np.all(expected.real < 0)


def test_update_maps():
    """Simultaneous: spectral radius sqrt(1 + h^2 f'^2) > 1. Alternating: determinant 1,
    eigenvalues on the unit circle while h f' < 2, one outside beyond. Extragradient:
    sqrt(1 - h^2 f'^2 + h^4 f'^4) < 1."""
    J = dynamics.jacobian()
    for h in (0.05, 0.3, 1.0):
        assert dynamics.spectral_radius(dynamics.update_matrix("simultaneous", J, h)) == \
            pytest.approx(np.sqrt(1 + h ** 2 / 4), rel=1e-14)
        alternating = dynamics.update_matrix("alternating", J, h)
        assert np.linalg.det(alternating) == pytest.approx(1, rel=1e-14)
        np.testing.assert_allclose(np.abs(np.linalg.eigvals(alternating)), 1, rtol=1e-12)
        assert dynamics.spectral_radius(dynamics.update_matrix("extragradient", J, h)) == \
            pytest.approx(np.sqrt(1 - h ** 2 / 4 + h ** 4 / 16), rel=1e-14)
        assert dynamics.spectral_radius(dynamics.update_matrix("optimistic", J, h)) < 1
    assert dynamics.spectral_radius(dynamics.update_matrix("alternating", J, 4.5)) > 1.5


@pytest.mark.parametrize("method", dynamics.METHODS)
@pytest.mark.parametrize("game", [dict(), dict(regulariser="r1", gamma=0.3)])
def test_measured_rates_match_the_spectral_radius(method, game):
    """From a start near the equilibrium (where the field is linear) the distance changes per
    step by the update map's spectral radius: log-rates within 2%, 1% where the map rotates."""
    h, steps = 0.1, 500
    path = dynamics.simulate(method, [1e-3, 0.0], steps, h, **game)
    predicted = dynamics.spectral_radius(dynamics.update_matrix(
        method, dynamics.jacobian(gamma=game.get("gamma", 0.0)), h))
    measured = dynamics.measured_rate(path)
    if method == "alternating" and not game:
        assert abs(np.log(measured)) < 1e-5          # radius 1: neither in nor out
        distance = np.linalg.norm(path, axis=1)
        assert distance.max() < 1.2e-3 and distance.min() > 0.8e-3
    else:
        assert abs(np.log(measured) / np.log(predicted) - 1) < 0.02


def test_flow_conserves_the_distance_and_wgan_gp_does_not_converge():
    """The continuous flow keeps theta^2 + psi^2 (up to RK4's error); WGAN-GP's simultaneous
    steps keep circling at a distance of order 1 from the equilibrium."""
    path = dynamics.flow([1.0, 1.0], 10.0, 0.05)
    distance = np.linalg.norm(path, axis=1)
    assert np.ptp(distance) < 1e-6
    angle = np.unwrap(np.arctan2(path[:, 1], path[:, 0]))
    assert abs(angle[-1] - angle[0]) > 1.0                 # it moves: along the circle
    gp = dynamics.simulate("simultaneous", [0.5, 0.5], 600, 0.1, loss="wasserstein",
                           regulariser="wgan-gp", gamma=1.0)
    assert np.linalg.norm(gp[-200:], axis=1).min() > 0.5


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="method must be one of"):
        dynamics.simulate("sideways", [1, 1], 10, 0.1)
    with pytest.raises(ValueError, match="loss must be one of"):
        dynamics.vector_field([1, 1], loss="hinge")
    with pytest.raises(ValueError, match="gamma must be a finite number >= 0"):
        dynamics.vector_field([1, 1], regulariser="r1", gamma=-1.0)
    with pytest.raises(ValueError, match="start must be a finite point"):
        dynamics.simulate("simultaneous", [1, 1, 1], 10, 0.1)
    with pytest.raises(ValueError, match="steps must be a whole number"):
        dynamics.simulate("simultaneous", [1, 1], 2.5, 0.1)
