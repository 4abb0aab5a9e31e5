# %% [markdown]
# # Chapter 02: the minimax game in one dimension
#
# Goodfellow et al. (2014) set two players against each other. The generator G
# turns noise z into samples x = G(z) with density p_g; the discriminator D(x)
# gives the probability that x came from the data rather than from G. They play
#
#     min_G max_D  V(D, G) = E_{x ~ p_data}[log D(x)] + E_{z}[log(1 - D(G(z)))].
#
# In one dimension every piece of the paper's analysis can be computed exactly,
# so we can check the networks against it:
#
# * (a) for a fixed G the best discriminator is D*(x) = p_data(x) / (p_data(x) + p_g(x))
#   (Proposition 1): we train D and lay it over D*;
# * (b) at D*, the value is -log 4 + 2 JSD(p_data || p_g) (Theorem 1): we compute
#   the value of the trained D by quadrature and compare;
# * (c) the generator's loss log(1 - D(G(z))) saturates where D is confident, and
#   -log D(G(z)) does not: we plot both gradients;
# * (d) training both players moves p_g onto p_data, where D = 1/2 (the paper's Figure 1).
#
# The data is p_data = N(4, 0.5^2). Run it with `python chapters/02_minimax_1d/minimax_1d.py`
# (about 20 seconds on a laptop; `--quick` trains the pair for fewer rounds). It writes its
# figures and a summary to `runs/02_minimax_1d/`.

# %%
import numpy as np
from scipy import stats
from scipy.special import expit as sigmoid     # 1 / (1 + e^-a) on NumPy arrays

import minigan
from minigan import experiment, nn, optim
from minigan.gan import losses, theory
from minigan.progress import Progress

P_DATA = stats.norm(4.0, 0.5)                  # the data density, N(4, 0.5^2)
G_START = (2.5, 1.0)                           # G(z) = 2.5 + 1.0 z at first: p_g = N(2.5, 1)
PLOT_RANGE = (-0.5, 7.0)

# %% [markdown]
# ## The two players
#
# **G** is an affine map of Gaussian noise, x = G(z) = w z + b with z ~ N(0, 1):
# an `nn.Linear(1, 1)`. Its density is known exactly, p_g = N(b, |w|^2), so every
# integral over p_g below can be done by quadrature instead of by sampling.
#
# **D** is a small multilayer perceptron with tanh activations (smooth, like D*
# itself). It outputs a *logit* a(x), and D(x) = sigmoid(a(x)); the losses in
# `minigan.gan.losses` work from the logits, where they are exact. Its input is
# standardised with the data's mean and standard deviation, so the first layer
# sees numbers of order 1.


# %%
class Discriminator(nn.Module):
    """x (N, 1) -> logit a(x) (N, 1), with D(x) = sigmoid(a(x)).

    An MLP 1 -> hidden -> hidden -> 1 with tanh, on the standardised input
    (x - center) / scale.
    """

    def __init__(self, hidden=32, center=P_DATA.mean(), scale=P_DATA.std()):
        super().__init__()
        self.center, self.scale = float(center), float(scale)
        self.net = nn.Sequential(nn.Linear(1, hidden), nn.Tanh(),
                                 nn.Linear(hidden, hidden), nn.Tanh(),
                                 nn.Linear(hidden, 1))

    def forward(self, x):
        return self.net((x - self.center) / self.scale)


def make_generator(mean, std):
    """G(z) = std z + mean as an nn.Linear(1, 1); its density is N(mean, std^2)."""
    generator = nn.Linear(1, 1)
    generator.weight.data[...] = std
    generator.bias.data[...] = mean
    return generator


def generator_density(generator):
    """p_g for G(z) = w z + b, z ~ N(0, 1): the normal density N(b, |w|^2)."""
    return stats.norm(generator.bias.item(), abs(generator.weight.item()))


def sample_data(n):
    """n samples of p_data, shape (n, 1), from minigan's seeded generator."""
    return P_DATA.mean() + P_DATA.std() * minigan.randn(n, 1)


def sample_generator(generator, n):
    """n samples x = G(z), shape (n, 1); a graph through G is recorded unless in no_grad."""
    return generator(minigan.randn(n, 1))


def logits_on(discriminator, x):
    """D's logits at the points x (a NumPy array of any shape), as float64 NumPy."""
    x = np.asarray(x, dtype=np.float64)
    with minigan.no_grad():
        a = discriminator(minigan.tensor(x.reshape(-1, 1).astype(np.float32)))
    return a.numpy().astype(np.float64).reshape(x.shape)


def set_learning_rate(optimizer, lr):
    for group in optimizer.param_groups:
        group["lr"] = lr


def cosine(lr, step, steps):
    """A learning rate falling from lr to 0 along half a cosine: large steps first, then
    ever smaller ones, so the stochastic noise in the weights dies out by the end."""
    return lr * 0.5 * (1 + np.cos(np.pi * step / steps))


# %% [markdown]
# ## Integrals over x
#
# `minigan.gan.theory` computes V(D, G) and the JSD by adaptive quadrature
# (`scipy.integrate.quad`) over an interval that holds both densities except for
# a fraction 1e-12 of their mass. The discriminator's logits come from the network,
# in float32, good to about 1e-7, so the quadrature asks for no more than 1e-7.


# %%
def integration_range(*densities, tail=1e-12):
    """An interval holding all but ``tail`` of the mass of each density, and their means."""
    lower = min(p.ppf(tail) for p in densities)
    upper = max(p.isf(tail) for p in densities)
    return lower, upper, sorted(p.mean() for p in densities)


def value_of(discriminator, p_g):
    """V(D, G) = integral of p_data log D + p_g log(1 - D), by quadrature."""
    lower, upper, modes = integration_range(P_DATA, p_g)
    return theory.value(lambda x: logits_on(discriminator, x), P_DATA.pdf, p_g.pdf,
                        lower, upper, points=modes, tolerance=1e-7)


def best_value(p_g):
    """C(G) = V(D*, G) = -log 4 + 2 JSD(p_data || p_g), and the JSD itself."""
    lower, upper, modes = integration_range(P_DATA, p_g)
    jsd = theory.jensen_shannon_divergence(P_DATA.pdf, p_g.pdf, lower, upper, points=modes)
    return -theory.LOG_4 + 2 * jsd, jsd


# %% [markdown]
# ## (a) The optimal discriminator
#
# Fix G. At each x the value gets p_data(x) log D(x) + p_g(x) log(1 - D(x)), and
# a log y + b log(1 - y) is largest at y = a / (a + b). So the best D answers, at
# every x separately,
#
#     D*(x) = p_data(x) / (p_data(x) + p_g(x)).
#
# D is trained by minimising `losses.discriminator_loss`, which is -V estimated
# on a batch: fresh samples of p_data and of G every step, so D never overfits,
# and a large batch, so the estimate is good. Adam's steps shrink along a cosine
# to let D settle.
#
# How close must D be? We measure max |D(x) - D*(x)| over the region that holds
# 98% of each density (the union of their central 98% intervals). That includes
# the tails, where samples are rare (1% of each density lies beyond each end of its
# interval) and D learns slowly.


# %%
def region_98(*densities, points=1001):
    """A grid over the union of the central 98% intervals of the densities."""
    grids = [np.linspace(*p.interval(0.98), points) for p in densities]
    return np.unique(np.concatenate(grids))


def train_discriminator(discriminator, generator, steps, batch, lr, on_step=None):
    """Train D against a fixed G by minimising -V on fresh batches; return the last loss."""
    optimizer = optim.Adam(discriminator.parameters(), lr=lr)
    bar = Progress(steps, desc="(a) train D against a fixed G")
    for step in range(steps):
        set_learning_rate(optimizer, cosine(lr, step, steps))
        with minigan.no_grad():
            fake = sample_generator(generator, batch)
        loss = losses.discriminator_loss(discriminator(sample_data(batch)), discriminator(fake))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        bar.update(loss_d=loss.item())
        if on_step is not None:
            on_step(step + 1, loss.item())
    bar.close()
    return loss.item()


def discriminator_error(discriminator, p_g):
    """max |D - D*| over the 98% region, and where it is largest."""
    x = region_98(P_DATA, p_g)
    d_star = theory.optimal_discriminator(P_DATA.pdf(x), p_g.pdf(x))
    error = np.abs(sigmoid(logits_on(discriminator, x)) - d_star)
    return float(error.max()), float(x[np.argmax(error)])


# %% [markdown]
# ## (b) The value at the optimum is a divergence
#
# Put D* into V. With m = (p_data + p_g) / 2,
#
#     V(D*, G) = E_data[log p_data / (2m)] + E_g[log p_g / (2m)]
#              = -log 4 + KL(p_data || m) + KL(p_g || m) = -log 4 + 2 JSD(p_data || p_g).
#
# So training D to its optimum turns the value into a measure of how far p_g is
# from p_data, and G, minimising it, minimises the Jensen-Shannon divergence.
# We compute V for the *trained* D by quadrature and the JSD by quadrature, and
# compare. Since D* is the maximiser, V(D, G) <= -log 4 + 2 JSD for every D; the
# gap is how much value D leaves on the table.

# %% [markdown]
# ## (c) Why the generator's loss is changed in practice
#
# G's part of the minimax game is to minimise E_z[log(1 - D(G(z)))]. With
# D = sigmoid(a), the derivative of log(1 - D) in the logit a is -D: when D
# rejects a fake with confidence (D(G(z)) -> 0), the gradient vanishes, and G
# learns nothing exactly when it is worst. The non-saturating loss
# -log D(G(z)) has derivative -(1 - D) in a, close to -1 there. Both losses have
# the same fixed point (D(G(z)) pushed up); only the size of the push differs.
#
# Below we take these derivatives with minigan's autograd, first against D(G(z))
# directly, then for the samples of G in part (a), through the trained D, with
# respect to each sample x = G(z).


# %%
def gradients_against_d(d):
    """|d loss / d logit| per sample for both generator losses, where D(G(z)) = d (an array)."""
    n = len(d)
    logits = minigan.tensor(np.log(d) - np.log1p(-d), requires_grad=True)
    # Each loss is a mean over the batch: times n, its gradient is the per-sample one.
    (saturating,) = minigan.grad(losses.generator_loss_saturating(logits) * n, logits)
    (nonsaturating,) = minigan.grad(losses.generator_loss_nonsaturating(logits) * n, logits)
    return np.abs(saturating.numpy()), np.abs(nonsaturating.numpy())


def gradients_per_sample(discriminator, generator, n=2000):
    """D(G(z)) and |d loss / d x| for each sample x = G(z), for both generator losses."""
    with minigan.no_grad():
        x = sample_generator(generator, n)
    x = minigan.tensor(x.numpy(), requires_grad=True)
    logits = discriminator(x)
    result = {"D(G(z))": sigmoid(logits.numpy()[:, 0].astype(np.float64))}
    for name, loss in (("saturating", losses.generator_loss_saturating),
                       ("nonsaturating", losses.generator_loss_nonsaturating)):
        (gradient,) = minigan.grad(loss(logits) * n, x, retain_graph=True)
        result[name] = np.abs(gradient.numpy()[:, 0].astype(np.float64))
    return result


def generator_gradient_norms(discriminator, generator, batch):
    """The norm of d loss / d (w, b), G's own parameters, under each loss, on one batch."""
    z = minigan.randn(batch, 1)
    norms = {}
    for name, loss in (("saturating", losses.generator_loss_saturating),
                       ("nonsaturating", losses.generator_loss_nonsaturating)):
        grads = minigan.grad(loss(discriminator(generator(z))), list(generator.parameters()))
        norms[name] = float(np.sqrt(sum(float((g.numpy() ** 2).sum()) for g in grads)))
    return norms


# %% [markdown]
# ## (d) Training both players
#
# Algorithm 1 of the paper alternates: k steps of D (here k = 1) on fresh
# batches, then one step of G on the generator loss (non-saturating by default,
# `--generator-loss saturating` for the minimax one). We start from the pair of
# part (a), where D is already close to D*, and take snapshots for the four panels
# of Figure 1: (a) a partly trained D, (b) D near D*, (c) after some steps of G,
# the gradient of D having pulled G(z) towards where D says "data", (d) the end,
# with p_g on p_data and D = 1/2 everywhere: neither player can improve.


# %%
def snapshot(discriminator, generator, x, label):
    """What a Figure 1 panel needs: D on the grid x and G's parameters."""
    return {"label": label, "D": sigmoid(logits_on(discriminator, x)),
            "weight": generator.weight.item(), "bias": generator.bias.item()}


def train_pair(discriminator, generator, steps, batch, lr_d, lr_g, k, generator_loss,
               on_step=None):
    """Alternate k steps of D with one step of G for ``steps`` rounds (Algorithm 1)."""
    optimizer_d = optim.Adam(discriminator.parameters(), lr=lr_d, betas=(0.5, 0.999))
    optimizer_g = optim.Adam(generator.parameters(), lr=lr_g, betas=(0.5, 0.999))
    bar = Progress(steps, desc="(d) train D and G together")
    for step in range(steps):
        set_learning_rate(optimizer_d, cosine(lr_d, step, steps))
        set_learning_rate(optimizer_g, cosine(lr_g, step, steps))
        for _ in range(k):
            with minigan.no_grad():
                fake = sample_generator(generator, batch)
            loss_d = losses.discriminator_loss(discriminator(sample_data(batch)),
                                               discriminator(fake))
            optimizer_d.zero_grad()
            loss_d.backward()
            optimizer_d.step()
        loss_g = generator_loss(discriminator(sample_generator(generator, batch)))
        optimizer_g.zero_grad()
        loss_g.backward()
        optimizer_g.step()
        bar.update(loss_d=loss_d.item(), loss_g=loss_g.item(),
                   mean=generator.bias.item(), std=abs(generator.weight.item()))
        if on_step is not None:
            on_step(step + 1, loss_d.item(), loss_g.item())
    bar.close()


# %% [markdown]
# ## The figures


# %%
def plot_discriminator(x, d, d_star, p_g, error, where):
    """(a): the trained D over D*, with both densities, and D - D* below."""
    import matplotlib.pyplot as plt
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True,
                                         gridspec_kw={"height_ratios": [3, 1.3]})
    region = [p.interval(0.98) for p in (P_DATA, p_g)]
    for axis in (top, bottom):
        for lo, hi in region:
            axis.axvspan(lo, hi, color="0.93", zorder=0)
    top.plot(x, P_DATA.pdf(x), ":", color="black", lw=2, label=r"$p_{data}$ = N(4, 0.5²)")
    top.plot(x, p_g.pdf(x), color="tab:green", lw=2,
             label=f"$p_g$ = N({p_g.mean():.1f}, {p_g.std():.1f}²)")
    top.plot(x, d_star, color="tab:orange", lw=4, alpha=0.5,
             label=r"$D^*(x) = p_{data} / (p_{data} + p_g)$")
    top.plot(x, d, "--", color="tab:blue", lw=1.8, label="trained D(x)")
    top.set_ylabel("density, or probability 'real'")
    top.set_ylim(0, 1.05)
    top.set_title("(a) the trained discriminator over the optimal one (grey: 98% regions)")
    top.legend(loc="upper left", fontsize=8)
    bottom.plot(x, d - d_star, color="tab:blue")
    bottom.axhline(0, color="black", lw=0.6)
    for level in (-0.05, 0.05):
        bottom.axhline(level, color="tab:red", lw=0.8, ls="--")
    bottom.plot([where], [np.interp(where, x, d - d_star)], "o", color="tab:red",
                label=f"max |D - D*| in the region = {error:.3f}")
    bottom.set_ylim(-0.12, 0.12)
    bottom.set_xlabel("x")
    bottom.set_ylabel("D - D*")
    bottom.legend(loc="lower left", fontsize=8)
    return figure


def plot_gradients(d, saturating, nonsaturating, samples, ratio_at_001):
    """(c): both generator gradients against D(G(z)): by formula and for real samples."""
    import matplotlib.pyplot as plt
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    left.loglog(d, saturating, color="tab:red", lw=2,
                label=r"saturating $\log(1 - D(G(z)))$: $D$")
    left.loglog(d, nonsaturating, color="tab:blue", lw=2,
                label=r"non-saturating $-\log D(G(z))$: $1 - D$")
    left.axvline(0.01, color="0.5", lw=0.8, ls="--")
    left.annotate(f"at D = 0.01 the saturating\ngradient is {ratio_at_001:.3f} times\n"
                  "the non-saturating one", xy=(0.01, 0.01), xytext=(1.5e-5, 0.05), fontsize=8,
                  arrowprops={"arrowstyle": "->", "color": "0.3"})
    left.set_xlabel("D(G(z))")
    left.set_ylabel("|d loss / d logit|  (per sample)")
    left.set_title("(c) the generator's gradient, by autograd")
    left.legend(loc="lower right", fontsize=8)
    right.loglog(samples["D(G(z))"], samples["saturating"], ".", color="tab:red", ms=3,
                 alpha=0.5, label="saturating")
    right.loglog(samples["D(G(z))"], samples["nonsaturating"], ".", color="tab:blue", ms=3,
                 alpha=0.5, label="non-saturating")
    right.set_xlabel("D(G(z)) for samples x = G(z) of part (a)")
    right.set_ylabel("|d loss / d x|  (per sample)")
    right.set_title("through the trained D: confident rejections give no push")
    right.legend(loc="lower right", fontsize=8, markerscale=4)
    return figure


def plot_figure_1(x, snapshots):
    """(d): four panels in the manner of the paper's Figure 1."""
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(1, 4, figsize=(16, 4.2), sharey=True)
    levels = stats.norm.ppf((np.arange(15) + 0.5) / 15)   # 15 z's of equal probability
    x_line, z_line = -0.12, -0.42
    middle, spread = sum(PLOT_RANGE) / 2, (PLOT_RANGE[1] - PLOT_RANGE[0]) / 7
    for axis, shot in zip(axes, snapshots):
        p_g = stats.norm(shot["bias"], abs(shot["weight"]))
        axis.plot(x, P_DATA.pdf(x), ":", color="black", lw=2, label=r"$p_{data}$")
        axis.plot(x, p_g.pdf(x), color="tab:green", lw=2, label=r"$p_g$")
        axis.plot(x, shot["D"], "--", color="tab:blue", lw=2, label="D")
        axis.axhline(x_line, color="black", lw=1)
        axis.axhline(z_line, color="black", lw=1)
        for z in levels:
            target = shot["weight"] * z + shot["bias"]
            axis.annotate("", xy=(target, x_line), xytext=(middle + spread * z, z_line),
                          arrowprops={"arrowstyle": "->", "color": "0.35", "lw": 0.8})
        axis.text(PLOT_RANGE[0] + 0.1, x_line + 0.03, "x", fontsize=9)
        axis.text(PLOT_RANGE[0] + 0.1, z_line + 0.03, "z", fontsize=9)
        axis.set_xlim(*PLOT_RANGE)
        axis.set_ylim(-0.5, 1.05)
        axis.set_yticks(np.linspace(0, 1, 6))       # below 0 are the x- and z-lines
        axis.set_title(shot["label"], fontsize=9)
        axis.set_xlabel("x")
    axes[0].set_ylabel("density, or D(x)")
    axes[0].legend(loc="upper left", fontsize=8)
    figure.suptitle("(d) the game in the manner of Figure 1 (Goodfellow et al. 2014): "
                    "arrows map 15 equally likely z's to x = G(z)", fontsize=10)
    return figure


def plot_values(part_a, part_d, best_a):
    """V(D, G) by quadrature against the theory C(G) = -log 4 + 2 JSD, in (a) and in (d)."""
    import matplotlib.pyplot as plt
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    steps, values = zip(*part_a)
    left.plot(steps, values, "o-", color="tab:blue", ms=3, label="V(D, G) of the trained D")
    left.axhline(best_a, color="tab:orange", lw=2, label="-log 4 + 2 JSD (theory)")
    left.set_xlabel("steps of D (G fixed)")
    left.set_ylabel("value (nats)")
    left.set_title("(b) D climbs to the value the theory predicts")
    left.legend(loc="lower right", fontsize=8)
    steps, values, bests = zip(*part_d)
    right.plot(steps, values, "o-", color="tab:blue", ms=3, label="V(D, G)")
    right.plot(steps, bests, color="tab:orange", lw=2, label="-log 4 + 2 JSD(p_data || p_g)")
    right.axhline(-theory.LOG_4, color="black", lw=0.8, ls=":", label="-log 4 (p_g = p_data)")
    right.set_xlabel("rounds of D and G")
    right.set_ylabel("value (nats)")
    right.set_title("(d) training both: the value falls to -log 4")
    right.legend(loc="upper right", fontsize=8)
    return figure


# %% [markdown]
# ## Putting it together


# %%
def add_arguments(parser):
    count = experiment.whole_number(1)
    parser.add_argument("--d-steps", type=count, default=1500,
                        help="steps of D against the fixed G in part (a) (default 1500)")
    parser.add_argument("--batch", type=count, default=512,
                        help="samples of each kind per step (default 512)")
    # Only the two generator losses of the cross-entropy game this chapter's D plays; the
    # other entries of losses.LOSSES pair with discriminator losses of their own.
    parser.add_argument("--generator-loss", choices=["saturating", "nonsaturating"],
                        default="nonsaturating", help="G's loss in part (d)")
    parser.add_argument("--k", type=count, default=1,
                        help="steps of D per step of G in (d) (default 1)")


def main(argv=None):
    args = experiment.parse_args("02_minimax_1d", argv, steps=2000, quick_steps=1000,
                                 add_arguments=add_arguments,
                                 description="Chapter 02: the minimax game in one dimension")
    run = experiment.Run("02_minimax_1d", args, title="Chapter 02: the minimax game in 1-D")
    grid = np.linspace(*PLOT_RANGE, 751)

    # (a) D against a fixed G, with the value checked along the way for (b).
    discriminator = Discriminator()
    generator = make_generator(*G_START)
    p_g = generator_density(generator)
    best_a, jsd_a = best_value(p_g)
    checkpoints = set(np.linspace(0, args.d_steps, 16).astype(int)[1:])
    values_a, snapshots = [], []

    def after_d_step(step, loss_d):
        if step in checkpoints:
            values_a.append((step, value_of(discriminator, p_g)))
            run.log(part="a", step=step, loss_d=loss_d, loss_g="", value=values_a[-1][1],
                    best_value=best_a, g_mean=p_g.mean(), g_std=p_g.std())
        if step == max(args.d_steps // 10, 1):
            snapshots.append(snapshot(discriminator, generator, grid,
                                      f"(a) D partly trained ({step} steps)"))

    train_discriminator(discriminator, generator, args.d_steps, args.batch, 3e-3, after_d_step)
    error, where = discriminator_error(discriminator, p_g)
    value_a = value_of(discriminator, p_g)
    snapshots.append(snapshot(discriminator, generator, grid,
                              f"(b) D near D* ({args.d_steps} steps)"))
    run.savefig(plot_discriminator(grid, sigmoid(logits_on(discriminator, grid)),
                                   theory.optimal_discriminator(P_DATA.pdf(grid), p_g.pdf(grid)),
                                   p_g, error, where),
                "a_discriminator", "(a) the trained D over D*, and their difference")

    # (c) the two generator losses.
    d = np.logspace(-5, np.log10(1 - 1e-5), 400)
    saturating, nonsaturating = gradients_against_d(d)
    saturating_001, nonsaturating_001 = gradients_against_d(np.array([0.01]))
    ratio_001 = float(saturating_001[0] / nonsaturating_001[0])
    samples = gradients_per_sample(discriminator, generator)
    norms = generator_gradient_norms(discriminator, generator, 8 * args.batch)
    run.savefig(plot_gradients(d, saturating, nonsaturating, samples, ratio_001),
                "c_generator_gradients", "(c) the two generator losses' gradients")

    # (d) both players.
    rounds = args.steps
    checkpoints_d = set(np.linspace(0, rounds, 21).astype(int))
    values_d = []

    def after_round(step, loss_d, loss_g):
        if step in checkpoints_d:
            p_now = generator_density(generator)
            best, jsd = best_value(p_now)
            values_d.append((step, value_of(discriminator, p_now), best))
            run.log(part="d", step=step, loss_d=loss_d, loss_g=loss_g, value=values_d[-1][1],
                    best_value=best, g_mean=p_now.mean(), g_std=p_now.std())
        if step == max(min(100, rounds // 2), 1):
            snapshots.append(snapshot(discriminator, generator, grid,
                                      f"(c) after {step} rounds of D and G"))

    after_round(0, float("nan"), float("nan"))
    train_pair(discriminator, generator, rounds, args.batch, 3e-3, 1e-2, args.k,
               losses.LOSSES[args.generator_loss][1], after_round)
    snapshots.append(snapshot(discriminator, generator, grid, f"(d) the end ({rounds} rounds)"))
    p_end = generator_density(generator)
    best_end, jsd_end = best_value(p_end)
    bulk = np.linspace(*P_DATA.interval(0.98), 401)
    d_bulk = sigmoid(logits_on(discriminator, bulk))
    run.savefig(plot_figure_1(grid, snapshots), "d_figure_1",
                "(d) the four panels of Figure 1: p_data (dotted), p_g (green), D (dashed)")
    run.savefig(plot_values(values_a, values_d, best_a), "b_value_vs_theory",
                "V(D, G) by quadrature against -log 4 + 2 JSD")

    results = {
        "(a) max |D - D*| over the 98% regions": error,
        "(a) where it is largest (x)": where,
        "(b) V(D, G) of the trained D, by quadrature": value_a,
        "(b) -log 4 + 2 JSD(p_data || p_g), by quadrature": best_a,
        "(b) |V(D, G) - (-log 4 + 2 JSD)|": abs(value_a - best_a),
        "(b) JSD(p_data || p_g) in part (a)": jsd_a,
        "(c) saturating / non-saturating gradient at D(G(z)) = 0.01": ratio_001,
        "(c) |grad of G's parameters|, saturating": norms["saturating"],
        "(c) |grad of G's parameters|, non-saturating": norms["nonsaturating"],
        "(d) mean of p_g at the end": p_end.mean(),
        "(d) std of p_g at the end": p_end.std(),
        "(d) JSD(p_data || p_g) at the end": jsd_end,
        "(d) V(D, G) at the end": values_d[-1][1],
        "(d) max |D - 1/2| over p_data's 98% interval": float(np.abs(d_bulk - 0.5).max()),
    }
    run.finish(results, notes=f"p_data = N(4, 0.5^2); G starts as N{G_START}; "
                              f"G's loss in (d): {args.generator_loss}.")
    return results


if __name__ == "__main__":
    experiment.command_line(main)
