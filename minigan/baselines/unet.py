"""The noise networks of the diffusion models: a small U-Net for 28x28 images, an MLP for 2-D.

    SmallUNet(width=w, steps=T):  x_t (1, 28, 28), t
        h1 = block(Conv(1, w, 3, 1, 1))                     (w, 28, 28)
        h2 = block(Conv(w, 2w, 4, 2, 1))                    (2w, 14, 14)
        h3 = block(Conv(2w, 2w, 4, 2, 1))                   (2w, 7, 7)
        m  = block(Conv(2w, 2w, 3, 1, 1))                   (2w, 7, 7)
        u2 = block(ConvT(4w, 2w, 4, 2, 1)) on [m, h3]       (2w, 14, 14)
        u1 = block(ConvT(4w, w, 4, 2, 1))  on [u2, h2]      (w, 28, 28)
        eps = Conv(2w, 1, 3, 1, 1)         on [u1, h1]      (1, 28, 28)

    block(conv) = SiLU(norm(conv(x)) + a(t)),  a(t) = Linear(time embedding) per channel

``norm`` is group normalisation with one group (each example's feature maps standardised
together, ``F.layer_norm`` over (C, H, W) with a learned per-channel scale and shift): it
does not depend on the other examples, so a noisy batch of mixed steps t is no problem,
unlike batch norm. SiLU(x) = x sigmoid(x) (Ramachandran et al. 2017; DDPM's activation).
The step t enters through a learned embedding of the T steps (``nn.Embedding``), mapped by
one layer per block to a shift per channel.
"""
from minigan import nn
from minigan.baselines.diffusion import time_features
from minigan.gan.stacked import stacked_mlp
from minigan.nn import functional as F
from minigan.nn.module import Parameter
from minigan.ops import concatenate, reshape
from minigan.creation import ones, zeros


def silu(x):
    """SiLU(x) = x sigmoid(x), composed of minigan's ops (so differentiable to any order)."""
    return x * F.sigmoid(x)


class GroupNorm1(nn.Module):
    """Group normalisation with a single group: each example's (C, H, W) standardised by
    their own mean and variance, then scaled and shifted per channel,

        y[n, c] = (x[n, c] - mu_n) / sqrt(sigma2_n + eps) * weight[c] + bias[c].
    """

    def __init__(self, channels, eps=1e-5):
        super().__init__()
        self.channels, self.eps = channels, eps
        self.weight = Parameter(ones(channels))
        self.bias = Parameter(zeros(channels))

    def forward(self, x):
        y = F.layer_norm(x, x.shape[1:], eps=self.eps)
        return y * reshape(self.weight, 1, self.channels, 1, 1) + reshape(self.bias, 1,
                                                                          self.channels, 1, 1)


class _Block(nn.Module):
    """conv -> norm -> + a(t) per channel -> SiLU."""

    def __init__(self, conv, channels, embedding_dim):
        super().__init__()
        self.conv, self.norm = conv, GroupNorm1(channels)
        self.time = nn.Linear(embedding_dim, channels)
        self.channels = channels

    def forward(self, x, embedding):
        shift = reshape(self.time(embedding), embedding.shape[0], self.channels, 1, 1)
        return silu(self.norm(self.conv(x)) + shift)


class SmallUNet(nn.Module):
    """The U-Net above: (x_t (N, 1, 28, 28), t (N,) ints in 0..steps-1) -> eps (N, 1, 28, 28)."""

    def __init__(self, width=32, steps=100, embedding_dim=64, channels=1):
        super().__init__()
        w, e = width, embedding_dim
        self.embedding = nn.Embedding(steps, e)
        self.down1 = _Block(nn.Conv2d(channels, w, 3, 1, 1), w, e)
        self.down2 = _Block(nn.Conv2d(w, 2 * w, 4, 2, 1), 2 * w, e)
        self.down3 = _Block(nn.Conv2d(2 * w, 2 * w, 4, 2, 1), 2 * w, e)
        self.middle = _Block(nn.Conv2d(2 * w, 2 * w, 3, 1, 1), 2 * w, e)
        self.up2 = _Block(nn.ConvTranspose2d(4 * w, 2 * w, 4, 2, 1), 2 * w, e)
        self.up1 = _Block(nn.ConvTranspose2d(4 * w, w, 4, 2, 1), w, e)
        self.out = nn.Conv2d(2 * w, channels, 3, 1, 1)

    def forward(self, x, t):
        if x.ndim != 4 or t.shape != (x.shape[0],):
            raise ValueError(f"SmallUNet: expected x (N, C, H, W) and t (N,), got shapes "
                             f"{x.shape} and {t.shape}")
        embedding = silu(self.embedding(t))
        h1 = self.down1(x, embedding)
        h2 = self.down2(h1, embedding)
        h3 = self.down3(h2, embedding)
        m = self.middle(h3, embedding)
        u2 = self.up2(concatenate([m, h3], axis=1), embedding)
        u1 = self.up1(concatenate([u2, h2], axis=1), embedding)
        return self.out(concatenate([u1, h1], axis=1))


class ToyDenoiser(nn.Module):
    """S independent noise networks for 2-D points, side by side (``minigan.gan.stacked``):
    x_t (S, N, 2) and t (S, N) -> eps (S, N, 2), each an MLP on [x_t, time_features(t)]."""

    def __init__(self, copies, steps, hidden=128, layers=3, generators=None, frequencies=8):
        super().__init__()
        self.steps, self.frequencies = steps, frequencies
        self.mlp = stacked_mlp(copies, (2 + 2 * frequencies,) + (hidden,) * layers + (2,),
                               generators=generators)

    def forward(self, x, t):
        features = time_features(t, self.steps, self.frequencies)
        return self.mlp(concatenate([x, features], axis=-1))
