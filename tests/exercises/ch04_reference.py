"""minigan's answers to chapter 04's exercises: minigan.data.toy, minigan.metrics.modes and
minigan.gan.pacgan / minigan.gan.unrolled."""
from minigan.data import toy
from minigan.gan.pacgan import pack  # noqa: F401  (the answer to 4.3)
from minigan.gan.unrolled import sgd_step  # noqa: F401  (the answer to 4.4)
from minigan.metrics import modes


def ring_centres(n_modes, radius):
    return toy.ring_centres(n_modes, radius)


def mode_statistics(samples, centres, std):
    statistics = modes.mode_statistics(samples, centres, std)
    return statistics.modes, statistics.high_quality, statistics.reverse_kl
