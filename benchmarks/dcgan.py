"""The 28x28 DCGAN that the benchmark times, written once for any PyTorch-like ``nn``.

minigan copies PyTorch's names and signatures, so the same function builds the model
from ``minigan.nn`` or from ``torch.nn``; only the array library underneath differs.

    generator      z (B,100,1,1)
                   -> ConvTranspose2d(100,256,7,1,0) + BatchNorm2d + ReLU   (B,256,7,7)
                   -> ConvTranspose2d(256,128,4,2,1) + BatchNorm2d + ReLU   (B,128,14,14)
                   -> ConvTranspose2d(128,1,4,2,1)   + Tanh                 (B,1,28,28)
    discriminator  x (B,1,28,28)
                   -> Conv2d(1,64,4,2,1)   + LeakyReLU(0.2)                 (B,64,14,14)
                   -> Conv2d(64,128,4,2,1) + BatchNorm2d + LeakyReLU(0.2)   (B,128,7,7)
                   -> Flatten -> Linear(6272,1)                             (B,1)

One training step is one discriminator update on a real and a fake batch followed by
one generator update with the non-saturating loss, both with Adam(2e-4, (0.5, 0.999))
and binary cross-entropy on logits, as in PyTorch's DCGAN example.
"""

NZ = 100
LR = 2e-4
BETAS = (0.5, 0.999)


def generator(nn):
    """The generator, built from the modules of ``nn``."""
    return nn.Sequential(
        nn.ConvTranspose2d(NZ, 256, 7, 1, 0), nn.BatchNorm2d(256), nn.ReLU(),
        nn.ConvTranspose2d(256, 128, 4, 2, 1), nn.BatchNorm2d(128), nn.ReLU(),
        nn.ConvTranspose2d(128, 1, 4, 2, 1), nn.Tanh())


def discriminator(nn):
    """The discriminator, built from the modules of ``nn``; it returns logits (B, 1)."""
    return nn.Sequential(
        nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(64, 128, 4, 2, 1), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(128 * 7 * 7, 1))


def train_step(G, D, opt_g, opt_d, bce, real, z, ones, zeros):
    """One discriminator update, then one generator update; returns (loss_d, loss_g).

    ``bce`` is ``binary_cross_entropy_with_logits``. The fake batch is made once: the
    discriminator sees it detached, the generator's loss goes back through it.
    """
    fake = G(z)
    opt_d.zero_grad()
    loss_d = bce(D(real), ones) + bce(D(fake.detach()), zeros)
    loss_d.backward()
    opt_d.step()
    opt_g.zero_grad()
    loss_g = bce(D(fake), ones)   # non-saturating: maximise log D(G(z))
    loss_g.backward()
    opt_g.step()
    return loss_d, loss_g


# Each layer timed alone, forward + backward, at the shape it sees in the model.
class Layer:
    """One row of the per-layer table.

    ``make(nn)`` builds the module, ``shape(batch)`` is its input's shape, ``input_grad``
    says whether the input needs a gradient, and ``per_step`` is how many forward+backward
    passes one training step makes through the layer: the generator runs once and the
    discriminator three times (real, detached fake, fake for the generator's loss).
    The generator's first layer reads z, which needs no gradient; every other input does
    (the generator's update goes back through the discriminator's input too).
    """

    def __init__(self, name, make, shape, input_grad=True):
        self.name, self.make, self.shape, self.input_grad = name, make, shape, input_grad
        self.per_step = 1 if name.startswith("G ") else 3


LAYERS = [
    Layer("G ConvTranspose2d(100,256,7,1,0)", lambda nn: nn.ConvTranspose2d(NZ, 256, 7, 1, 0),
          lambda b: (b, NZ, 1, 1), input_grad=False),
    Layer("G BatchNorm2d(256) 7x7", lambda nn: nn.BatchNorm2d(256), lambda b: (b, 256, 7, 7)),
    Layer("G ReLU 256x7x7", lambda nn: nn.ReLU(), lambda b: (b, 256, 7, 7)),
    Layer("G ConvTranspose2d(256,128,4,2,1)", lambda nn: nn.ConvTranspose2d(256, 128, 4, 2, 1),
          lambda b: (b, 256, 7, 7)),
    Layer("G BatchNorm2d(128) 14x14", lambda nn: nn.BatchNorm2d(128), lambda b: (b, 128, 14, 14)),
    Layer("G ReLU 128x14x14", lambda nn: nn.ReLU(), lambda b: (b, 128, 14, 14)),
    Layer("G ConvTranspose2d(128,1,4,2,1)", lambda nn: nn.ConvTranspose2d(128, 1, 4, 2, 1),
          lambda b: (b, 128, 14, 14)),
    Layer("G Tanh 1x28x28", lambda nn: nn.Tanh(), lambda b: (b, 1, 28, 28)),
    Layer("D Conv2d(1,64,4,2,1)", lambda nn: nn.Conv2d(1, 64, 4, 2, 1), lambda b: (b, 1, 28, 28)),
    Layer("D LeakyReLU(0.2) 64x14x14", lambda nn: nn.LeakyReLU(0.2), lambda b: (b, 64, 14, 14)),
    Layer("D Conv2d(64,128,4,2,1)", lambda nn: nn.Conv2d(64, 128, 4, 2, 1),
          lambda b: (b, 64, 14, 14)),
    Layer("D BatchNorm2d(128) 7x7", lambda nn: nn.BatchNorm2d(128), lambda b: (b, 128, 7, 7)),
    Layer("D LeakyReLU(0.2) 128x7x7", lambda nn: nn.LeakyReLU(0.2), lambda b: (b, 128, 7, 7)),
    Layer("D Linear(6272,1)", lambda nn: nn.Linear(128 * 7 * 7, 1), lambda b: (b, 128 * 7 * 7)),
]
