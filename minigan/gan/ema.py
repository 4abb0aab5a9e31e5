"""An exponential moving average of a network's weights (Polyak averaging for GANs).

GAN training rarely settles: G and D keep circling round the equilibrium, and the
generator's weights at any one step carry the jitter of the last few updates. Their
running average sits near the centre of the circle. For each weight theta, after
every optimizer step,

    theta_avg <- beta theta_avg + (1 - beta) theta,

an average over roughly the last 1 / (1 - beta) steps (1,000 for beta = 0.999).
Yazici et al. (2019, "The unusual effectiveness of averaging in GAN training") show
that sampling from the averaged generator gives markedly better samples; progressive
GANs, BigGAN and StyleGAN all do it. The average is only *used*, never trained: the
optimizer keeps updating the raw weights.

Early on, a fixed beta would average in the random initial weights for a long time,
so beta ramps up as TensorFlow's ``ExponentialMovingAverage`` does it:
beta_t = min(beta, (1 + t) / (10 + t)) at the t-th update.
"""
from minigan.autograd import Tensor
from minigan.gan.unrolled import functional_call


class ExponentialMovingAverage:
    """A running average of ``module``'s parameters, and the module run with it.

    >>> ema = ExponentialMovingAverage(netG, decay=0.999)
    >>> for step in range(steps):
    ...     ...                     # update netG with its optimizer
    ...     ema.update()
    >>> samples = ema(z)            # netG evaluated with the averaged weights
    """

    def __init__(self, module, decay=0.999):
        if not 0 <= decay < 1:
            raise ValueError(f"ExponentialMovingAverage: decay must be in [0, 1), got {decay}")
        self.module, self.decay, self.updates = module, decay, 0
        self.averages = {name: p.data.copy() for name, p in module.named_parameters()}

    def update(self):
        """Move every average a step towards the module's current parameters."""
        beta = min(self.decay, (1 + self.updates) / (10 + self.updates))
        self.updates += 1
        for name, p in self.module.named_parameters():
            average = self.averages[name]
            average += (1 - beta) * (p.data - average)

    def parameters(self):
        """The averaged parameters, as a dict of dotted names to Tensors (constants)."""
        return {name: Tensor(average) for name, average in self.averages.items()}

    def __call__(self, *args):
        """The module's output with the averaged parameters in place of its own."""
        return functional_call(self.module, self.parameters(), *args)
