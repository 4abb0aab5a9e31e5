"""The strict device (tests/strict_array.py) fails where CuPy would, and counts host copies.

CI has no GPU. These tests check the stand-in that keeps minigan's CuPy path honest there:
each misuse it must catch, and how many explicit copies to the host one training step
makes (on CuPy each is a wait for the GPU). A step should copy only what it logs.
"""
import numpy
import pytest

import minigan
from minigan import backend, models, nn, optim
from minigan.gan import losses
from tests import strict_array


@pytest.fixture
def strict():
    """The strict device for one test, whatever device the session runs on."""
    before = backend.get_device()
    backend.register_device("strict", strict_array)
    backend.set_device("strict")
    yield strict_array
    backend.set_device(before)


def test_arrays_refuse_implicit_conversion_to_numpy(strict):
    x = minigan.randn(3, 4).data
    with pytest.raises(TypeError, match="implicit conversion"):
        numpy.asarray(x)
    with pytest.raises(TypeError, match="numpy.sum"):
        numpy.sum(x)


def test_arrays_refuse_to_be_python_numbers_or_truth_values(strict):
    total = minigan.randn(3, 4).data.sum()
    with pytest.raises(TypeError, match="hidden wait"):
        float(total)
    with pytest.raises(TypeError, match="hidden wait"):
        if total > 0:
            pass
    with pytest.raises(TypeError, match="hidden wait"):
        range(total)


def test_arrays_refuse_to_mix_with_numpy_arrays(strict):
    x = minigan.randn(3).data
    host = numpy.ones(3, dtype=numpy.float32)
    for mix in (lambda: x + host, lambda: host * x, lambda: strict.maximum(x, host)):
        with pytest.raises(TypeError, match="mixes a NumPy array"):
            mix()
    assert backend.to_numpy(x + numpy.float32(2) + 1.0).shape == (3,)   # scalars mix, as in CuPy


def test_explicit_copies_to_the_host_are_counted(strict):
    x = minigan.randn(2, 2)
    before = strict.transfer_count()
    assert isinstance(x.numpy(), numpy.ndarray)
    x.sum().item()
    backend.to_numpy(x.data)
    assert strict.transfer_count() - before == 3


def test_strict_arrays_compute_like_numpy(strict):
    """The stand-in must not change a value, only refuse: a planted wrong result fails."""
    values = numpy.arange(6, dtype=numpy.float64).reshape(2, 3)
    x = strict.asarray(values)
    numpy.testing.assert_array_equal(backend.to_numpy(strict.exp(x).sum(axis=0)),
                                     numpy.exp(values).sum(axis=0))
    x[0] += 1
    numpy.testing.assert_array_equal(backend.to_numpy(x)[0], values[0] + 1)
    assert values[0, 0] == 0   # xp.asarray copied the host array, as to a GPU


def _transfers_per_step(strict, step, steps=3):
    step()   # the first step builds optimizer state; count the ones after it
    before = strict.transfer_count()
    for _ in range(steps):
        step()
    return (strict.transfer_count() - before) / steps


def _gan_step(G, D, z_dim, real):
    opt_g = optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))

    def step():
        z = minigan.randn(len(real), z_dim)
        opt_d.zero_grad()
        loss_d = losses.discriminator_loss(D(real), D(G(z).detach()))
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad()
        loss_g = losses.generator_loss_nonsaturating(D(G(z)))
        loss_g.backward()
        opt_g.step()
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item()}   # the logging: 2 copies
    return step


# Copies to the host per step, measured: the two logged losses and nothing else.
STEP_TRANSFERS = 2


def test_a_dcgan28_step_copies_only_its_logged_losses_to_the_host(strict):
    G, D = models.dcgan28_generator(z_dim=8, width=4), models.dcgan28_discriminator(width=4)
    real = minigan.rand(4, 1, 28, 28) * 2 - 1
    assert _transfers_per_step(strict, _gan_step(G, D, 8, real)) == STEP_TRANSFERS


def test_an_mlp_gan_step_copies_only_its_logged_losses_to_the_host(strict):
    G = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    D = nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))
    real = minigan.randn(8, 2)
    assert _transfers_per_step(strict, _gan_step(G, D, 4, real)) == STEP_TRANSFERS


def test_the_trainer_copies_a_steps_losses_only_at_the_steps_it_logs(strict, tmp_path):
    """A step that returns its losses as tensors makes no copy; the Trainer copies them
    (two numbers) at every 5th step, the ones it logs, and at no other."""
    import types
    from minigan import experiment
    from minigan.data import Batches
    from minigan.training import Trainer
    G = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    D = nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))
    opt_g, opt_d = optim.Adam(G.parameters(), lr=1e-3), optim.Adam(D.parameters(), lr=1e-3)
    counts = []

    def step(real):
        counts.append(strict.transfer_count())
        z = minigan.randn(len(real), 4)
        opt_d.zero_grad()
        loss_d = losses.discriminator_loss(D(minigan.tensor(real)), D(G(z).detach()))
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad()
        loss_g = losses.generator_loss_nonsaturating(D(G(z)))
        loss_g.backward()
        opt_g.step()
        return {"loss_d": loss_d, "loss_g": loss_g}

    run = experiment.Run("test_strict", types.SimpleNamespace(out=tmp_path, resume=False, seed=0))
    points = numpy.random.default_rng(0).standard_normal((64, 2)).astype(numpy.float32)
    Trainer(step, Batches(points, batch_size=16, seed=0), 12, run, G=G, D=D, opt_g=opt_g,
            opt_d=opt_d, log_every=5).fit()
    copies = numpy.diff(counts).tolist()   # copies from the start of step k to that of k + 1
    assert copies == [0, 0, 0, 0, 2, 0, 0, 0, 0, 2, 0], copies


def test_labels_are_range_checked_for_free_while_they_are_on_the_host(strict):
    """one_hot and cross_entropy check labels (N,) before moving them to the device: no
    copy for labels drawn on the host, one (min and max together) for labels on the
    device; out-of-range labels are refused either way."""
    from minigan.models import one_hot
    import minigan.nn.functional as F
    host = numpy.array([0, 3, 9])
    device = backend.asarray(host)
    logits = minigan.randn(3, 10)
    for labels, copies in ((host, 0), ([0, 3, 9], 0), (device, 1)):
        before = strict.transfer_count()
        one_hot(labels, 10)
        F.cross_entropy(logits, labels)
        assert strict.transfer_count() - before == 2 * copies, (type(labels), copies)
    for labels in (numpy.array([0, 10, 2]), backend.asarray(numpy.array([-1, 0, 2]))):
        with pytest.raises(ValueError, match="one_hot"):
            one_hot(labels, 10)
        with pytest.raises(ValueError, match="cross_entropy"):
            F.cross_entropy(logits, labels)
