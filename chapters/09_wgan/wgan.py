# %% [markdown]
# # Chapter 09: WGAN and WGAN-GP on toy data
#
# The Wasserstein GAN (Arjovsky et al. 2017) replaces the discriminator by a
# *critic* f, a real-valued function trained to maximise
#
#     E_data[f(x)] - E_z[f(G(z))]
#
# over 1-Lipschitz functions. By the Kantorovich-Rubinstein duality the maximum
# is the earth mover's distance W1(p_data, p_g), and G descends it. The whole
# difficulty is the constraint. WGAN clips every weight of the critic into
# [-c, c]; WGAN-GP (Gulrajani et al. 2017) drops the clipping and adds a penalty
# lambda E[(||grad f(x_hat)|| - 1)^2] on points x_hat between real and
# generated samples.
#
# This chapter runs both on the toy suite of Gulrajani et al.'s toy script (8
# Gaussians, 25 Gaussians, the swiss roll) and looks at what the two critics
# *are*: their value over the plane, the length of their gradient, and their
# weights. Clipping makes a critic whose weights sit at +-c and whose gradient is
# tiny; the penalty makes one whose slope is what the theory asks for.
#
# Run: `python chapters/09_wgan/wgan.py` (minutes on two cores; `--quick` for a
# first look, the ring only). Everything is generated: nothing to download.

# %%
import time

import numpy as np

import minigan
from minigan import experiment, nn
from minigan.data import toy
from minigan.gan import losses
from minigan.gan.penalties import gradient_penalty
from minigan.metrics.modes import mode_statistics
from minigan.progress import Progress

# %% [markdown]
# ## The data
#
# `minigan.data.toy` as chapter 04 uses it: the ring of 8 Gaussians (std 0.01 on
# the unit circle) and the grid of 25 (std 0.05 at {-4, -2, 0, 2, 4}^2, divided
# by 4 before the networks see it). Gulrajani et al.'s toy script puts the ring
# on a circle of radius 2 with std 0.02 and the grid at {-4, ..., 4}^2 with std
# 0.05, and divides them by 1.414 and 2.828: both end up exactly 1.414 times as
# large as ours, with the same ratio of std to spacing. Their swiss roll is
# scikit-learn's (t from 1.5 pi to 4.5 pi, noise 0.25, divided by 7.5); ours is
# `toy.swiss_roll` (t from pi/2 to 3.5 pi, divided by 3.5 pi so that it fits in
# [-1, 1]^2), with noise 0.02, about theirs relative to the roll's size.

# %%
ROLL_NOISE = 0.02


def swiss_roll(n, rng):
    return toy.swiss_roll(n, rng, noise=ROLL_NOISE), None


DATASETS = {
    #        sampler     centres              std   scale the networks see
    "ring": (toy.ring, toy.ring_centres(), 0.01, 1.0),
    "grid": (toy.grid, toy.grid_centres(), 0.05, 0.25),
    "roll": (swiss_roll, None, None, 1.0),
}
METHODS = ("clip", "gp")
NAMES = {"clip": "WGAN (weight clipping)", "gp": "WGAN-GP (gradient penalty)"}
EVALUATION_SAMPLES = 2500      # chapter 04's protocol


# %% [markdown]
# ## The players
#
# Gulrajani et al.'s toy networks: G and the critic f are multilayer perceptrons
# with 3 hidden ReLU layers; G maps z ~ N(0, I) in R^2 to a point, f maps a point
# to one number, with no sigmoid: it is a score, not a probability. They use 512
# units; this chapter's default is 128, which on two cores is 7 times faster
# (0.06 s against 0.41 s per generator iteration with the penalty) and lets both
# methods train on all three data sets in minutes. `--hidden 512` is their size.


# %%
def mlp(sizes):
    """Linear layers of the given widths with ReLU between them (none after the last)."""
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def make_players(config):
    hidden = (config["hidden"],) * config["layers"]
    return mlp((2,) + hidden + (2,)), mlp((2,) + hidden + (1,))


def real_batch(dataset, n, rng):
    sampler, _, _, scale = DATASETS[dataset]
    points, _ = sampler(n, rng)
    return minigan.tensor(points * scale, dtype="float32")


# %% [markdown]
# ## Two ways to keep the critic Lipschitz
#
# Both methods take n_critic = 5 critic steps per generator step, on the loss
# `critic_loss_wasserstein` = E[f(G(z))] - E[f(x)] (its negative is the critic's
# estimate of W1), and train G on `generator_loss_wasserstein` = -E[f(G(z))].
#
# **Weight clipping** (WGAN): after every RMSprop step (lr 5e-5), every parameter
# of the critic, biases included, is clipped into [-0.01, 0.01]
# (`minigan.optim.clip_weights_`). The critic is then K-Lipschitz for some K
# fixed by c and the architecture, and estimates K W1. To maximise its objective
# it wants the steepest function it is allowed, and with weights in a box the
# steepest functions sit on the box's corners: the weights pile up at +-c.
#
# **Gradient penalty** (WGAN-GP): no clipping; the critic's loss gets
# `gradient_penalty(f, real, fake, weight=lambda)`, which draws one eps ~ U[0, 1]
# per example, x_hat = eps x + (1 - eps) G(z), and adds
# lambda E[(||grad f(x_hat)|| - 1)^2]. Its gradient is a gradient of a gradient
# (chapter 00's double backward). Both players use Adam, lr 1e-4, betas
# (0.5, 0.9), and lambda = 0.1, the toy setting of Gulrajani et al. (10 on
# images). A soft penalty that weak lets the slope exceed 1 where the
# interpolates are sparse (see `minigan.gan.penalties`): we measure by how much.


# %%
def critic_step(method, config, netG, netD, optD, real, z):
    """One step of the critic; returns its estimate E[f(x)] - E[f(G(z))] on this batch."""
    fake = netG(z).detach()
    real_scores, fake_scores = netD(real), netD(fake)
    loss = losses.critic_loss_wasserstein(real_scores, fake_scores)
    if method == "gp":
        loss = loss + gradient_penalty(netD, real, fake, weight=config["gp_weight"])
    optD.zero_grad()
    loss.backward()
    optD.step()
    if method == "clip":
        minigan.optim.clip_weights_(netD.parameters(), config["clip"])
    return (real_scores.mean() - fake_scores.mean()).item()


def generator_step(netG, netD, optG, z):
    loss = losses.generator_loss_wasserstein(netD(netG(z)))
    optG.zero_grad()
    loss.backward()
    optG.step()
    return loss.item()


def make_optimizers(method, config, netG, netD):
    if method == "clip":
        return (minigan.optim.RMSprop(netG.parameters(), lr=config["clip_lr"]),
                minigan.optim.RMSprop(netD.parameters(), lr=config["clip_lr"]))
    return (minigan.optim.Adam(netG.parameters(), lr=config["gp_lr"], betas=config["betas"]),
            minigan.optim.Adam(netD.parameters(), lr=config["gp_lr"], betas=config["betas"]))


# %% [markdown]
# ## Measuring
#
# On the two mixtures, chapter 04's protocol (`minigan.metrics.modes`): of 2,500
# samples, the *high-quality* ones lie within 3 std of their nearest mode, a mode
# is *captured* when a high-quality sample is nearest to it, and the reverse KL
# says how evenly the captured modes are filled. The swiss roll has no modes; we
# measure it with two distances in the data's coordinates: the mean distance from
# a generated sample to the nearest point of the (noiseless) roll, which is small
# when the samples lie on the roll, and the mean distance from a real sample to
# the nearest generated one, which is small only when the samples cover all of
# it. A second sample of the roll itself scores 0.016 (its noise) and 0.007.
#
# Of the critic we measure its estimate of W1 on 2,500 fresh samples of each
# kind, the length of its gradient at 2,500 interpolates x_hat (where the penalty
# looks), and, for clipping, the share of its parameters within 1% of +-c.


# %%
def roll_curve(points=20000):
    """The noiseless swiss roll, densely: toy.swiss_roll's spiral at evenly spaced t."""
    start, span = np.pi / 2, 3 * np.pi
    t = start + span * np.linspace(0, 1, points)
    return np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / (start + span)


def nearest_distances(points, reference):
    """For every point, the distance to its nearest point of ``reference``."""
    from scipy.spatial import cKDTree
    return cKDTree(reference).query(points)[0]


def roll_statistics(samples, real):
    return {"distance to the roll": float(nearest_distances(samples, roll_curve()).mean()),
            "real to generated": float(nearest_distances(real, samples).mean())}


def sample(netG, n):
    with minigan.no_grad():
        return netG(minigan.randn(n, 2)).numpy().astype(np.float64)


def evaluate(dataset, netG, netD, rng):
    """The statistics of G's samples, and the critic's W1 estimate, in one dict."""
    _, centres, std, scale = DATASETS[dataset]
    samples = sample(netG, EVALUATION_SAMPLES)
    real = real_batch(dataset, EVALUATION_SAMPLES, rng)
    with minigan.no_grad():
        estimate = (netD(real).mean() - netD(minigan.tensor(samples, dtype="float32")).mean()).item()
    result = {"samples": samples / scale, "W1 estimate": estimate}
    if centres is None:
        result.update(roll_statistics(samples / scale, real.numpy() / scale))
    else:
        statistics = mode_statistics(samples / scale, centres, std)
        result.update(modes=statistics.modes, high_quality=statistics.high_quality,
                      reverse_kl=statistics.reverse_kl)
    return result


def critic_gradient_norms(netD, points):
    """||grad_x f(x)|| at each of the points (N, 2), in the coordinates the critic sees."""
    x = minigan.tensor(points, dtype="float32", requires_grad=True)
    (gradient,) = minigan.grad(netD(x).sum(), x)
    return np.linalg.norm(gradient.numpy(), axis=1)


def interpolates(dataset, netG, rng, n=EVALUATION_SAMPLES):
    """x_hat = eps x + (1 - eps) G(z), one eps per pair, as the penalty draws them."""
    real = real_batch(dataset, n, rng).numpy()
    eps = rng.random((n, 1))
    return eps * real + (1 - eps) * sample(netG, n)


def critic_weights(netD):
    return np.concatenate([p.numpy().ravel() for p in netD.parameters()])


# %% [markdown]
# ## Training


# %%
def train(dataset, method, config, steps, seed, progress, evaluate_every):
    """Train G and a critic with ``method`` on ``dataset``; return them and the history.

    ``steps`` counts generator steps; each follows n_critic critic steps.
    History: a list of (step, evaluate(...)) at every evaluation.
    """
    minigan.manual_seed(seed)
    rng = np.random.default_rng(seed)
    netG, netD = make_players(config)
    optG, optD = make_optimizers(method, config, netG, netD)
    history = []
    for step in range(1, steps + 1):
        for _ in range(config["n_critic"]):
            estimate = critic_step(method, config, netG, netD, optD,
                                   real_batch(dataset, config["batch"], rng),
                                   minigan.randn(config["batch"], 2))
        loss_g = generator_step(netG, netD, optG, minigan.randn(config["batch"], 2))
        if step % evaluate_every == 0 or step == steps:
            history.append((step, evaluate(dataset, netG, netD, rng)))
            if "modes" in history[-1][1]:
                progress.values["modes"] = history[-1][1]["modes"]
        progress.update(w1=estimate, loss_g=loss_g)
    return netG, netD, history


# %% [markdown]
# ## The configuration
#
# Gulrajani et al.'s toy settings, except the width (see above) and the number of
# generator steps (theirs: 100,000).

# %%
CONFIG = {
    "hidden": 128, "layers": 3,         # 2 -> 128 -> 128 -> 128 -> 2 (G) or 1 (critic)
    "batch": 256, "n_critic": 5,        # critic steps per generator step
    "gp_lr": 1e-4, "betas": (0.5, 0.9), "gp_weight": 0.1,   # WGAN-GP: Adam and lambda
    "clip_lr": 5e-5, "clip": 0.01,      # WGAN: RMSprop and c
}


# What each setting of CONFIG may be: counts from 1, rates and c above 0, lambda from 0
# (0 switches the penalty off: WGAN-GP's critic then goes unconstrained).
CONFIG_TYPES = {
    "hidden": experiment.whole_number(1), "layers": experiment.whole_number(1),
    "batch": experiment.whole_number(1), "n_critic": experiment.whole_number(1),
    "gp_lr": experiment.number(above=0), "gp_weight": experiment.number(minimum=0),
    "clip_lr": experiment.number(above=0), "clip": experiment.number(above=0),
}


def add_arguments(parser):
    parser.add_argument("--datasets", nargs="+", choices=list(DATASETS), default=None,
                        help="default: all three (the ring only with --quick)")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--evaluate-every", type=experiment.whole_number(1), default=None,
                        help="measure every N generator steps (default steps / 10)")
    for key, value in CONFIG.items():
        if key != "betas":
            parser.add_argument("--" + key.replace("_", "-"), type=CONFIG_TYPES[key],
                                default=value, help=f"(default {value})")


# %% [markdown]
# ## The figures


# %%
LIMITS = {"ring": 1.5, "grid": 1.5, "roll": 1.3}   # half-width of the plotted square, as the critic sees it


def plane(dataset, points=121):
    """A points x points grid over the plotted square, in the critic's coordinates."""
    half = LIMITS[dataset]
    axis = np.linspace(-half, half, points)
    a, b = np.meshgrid(axis, axis)
    return a, b, np.stack([a.ravel(), b.ravel()], axis=1)


def plot_critics(trained, datasets, methods, rng):
    """The critic's value over the plane, with real (black) and generated (orange) samples."""
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(len(datasets), len(methods), squeeze=False,
                                figsize=(4.6 * len(methods), 4.2 * len(datasets)))
    for row, dataset in enumerate(datasets):
        scale = DATASETS[dataset][3]
        a, b, grid = plane(dataset)
        real = real_batch(dataset, 1000, rng).numpy() / scale
        for column, method in enumerate(methods):
            netG, netD, history = trained[dataset, method]
            with minigan.no_grad():
                values = netD(minigan.tensor(grid, dtype="float32")).numpy().reshape(a.shape)
            axis = axes[row, column]
            contour = axis.contourf(a / scale, b / scale, values, levels=20, cmap="viridis")
            figure.colorbar(contour, ax=axis, shrink=0.8)
            axis.scatter(real[:, 0], real[:, 1], s=1, color="black", alpha=0.5, rasterized=True)
            generated = history[-1][1]["samples"][:1000]
            axis.scatter(generated[:, 0], generated[:, 1], s=1, color="tab:orange", alpha=0.6,
                         rasterized=True)
            axis.set_xlim(-LIMITS[dataset] / scale, LIMITS[dataset] / scale)
            axis.set_ylim(-LIMITS[dataset] / scale, LIMITS[dataset] / scale)
            axis.set_aspect("equal")
            axis.set_title(f"{dataset}, {NAMES[method]}\ncritic's value f(x)", fontsize=9)
    figure.tight_layout()
    return figure


def plot_gradient_norms(trained, datasets, methods):
    """||grad f|| over the plane: clipping's is tiny everywhere, the penalty's near 1."""
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(len(datasets), len(methods), squeeze=False,
                                figsize=(4.6 * len(methods), 4.2 * len(datasets)))
    for row, dataset in enumerate(datasets):
        scale = DATASETS[dataset][3]
        a, b, grid = plane(dataset)
        for column, method in enumerate(methods):
            _, netD, history = trained[dataset, method]
            norms = critic_gradient_norms(netD, grid).reshape(a.shape)
            axis = axes[row, column]
            image = axis.contourf(a / scale, b / scale, norms, levels=20, cmap="magma")
            figure.colorbar(image, ax=axis, shrink=0.8)
            generated = history[-1][1]["samples"][:500]
            axis.scatter(generated[:, 0], generated[:, 1], s=1, color="tab:cyan", alpha=0.5,
                         rasterized=True)
            axis.set_xlim(-LIMITS[dataset] / scale, LIMITS[dataset] / scale)
            axis.set_ylim(-LIMITS[dataset] / scale, LIMITS[dataset] / scale)
            axis.set_aspect("equal")
            axis.set_title(f"{dataset}, {NAMES[method]}\n||grad f|| (max {norms.max():.3g})",
                           fontsize=9)
    figure.tight_layout()
    return figure


def plot_weights(trained, datasets, methods, c):
    """Histograms of every critic parameter; clipping's pile up at -c and +c."""
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(len(datasets), len(methods), squeeze=False,
                                figsize=(4.6 * len(methods), 2.8 * len(datasets)))
    for row, dataset in enumerate(datasets):
        for column, method in enumerate(methods):
            weights = critic_weights(trained[dataset, method][1])
            axis = axes[row, column]
            axis.hist(weights, bins=101, color="tab:blue")
            axis.set_yscale("log")
            for bound in (-c, c):
                axis.axvline(bound, color="tab:red", linestyle=":", linewidth=0.8)
            axis.locator_params(axis="x", nbins=5)
            axis.set_title(f"{dataset}, {NAMES[method]}: critic's {weights.size} parameters",
                           fontsize=9)
    figure.tight_layout()
    return figure


def plot_over_training(trained, datasets, methods):
    """Modes and high-quality share (the mixtures) and the critic's W1 estimate, over training."""
    import matplotlib.pyplot as plt
    mixtures = [d for d in datasets if DATASETS[d][1] is not None]
    rows = [(d, "modes") for d in mixtures] + [(d, "high_quality") for d in mixtures] + \
           [(d, "W1 estimate") for d in datasets]
    figure, axes = plt.subplots(1, len(rows), squeeze=False, figsize=(3.6 * len(rows), 3.2))
    for axis, (dataset, key) in zip(axes[0], rows):
        for method in methods:
            history = trained[dataset, method][2]
            values = [h[1][key] for h in history]
            axis.plot([h[0] for h in history], values, marker=".", label=method)
        if key == "W1 estimate":
            axis.set_yscale("symlog", linthresh=1e-6)   # clipping's estimate is ~1e-5
        axis.set_title(f"{dataset}: {key.replace('_', ' ')}", fontsize=9)
        axis.set_xlabel("generator step")
        axis.legend(fontsize=8)
    figure.tight_layout()
    return figure


# %% [markdown]
# ## The run


# %%
def significant(value, digits=4):
    """``value`` to ``digits`` significant digits: the clipped critic's numbers are ~1e-5."""
    return float(f"{float(value):.{digits}g}")


def describe_critic(dataset, method, netG, netD, config, rng):
    """The critic's slope at interpolates and its weights, as results."""
    norms = critic_gradient_norms(netD, interpolates(dataset, netG, rng))
    weights = critic_weights(netD)
    prefix = f"{dataset} {method}"
    return {f"{prefix}: gradient norm at interpolates, median": significant(np.median(norms)),
            f"{prefix}: gradient norm at interpolates, 10th percentile":
                significant(np.percentile(norms, 10)),
            f"{prefix}: gradient norm at interpolates, 90th percentile":
                significant(np.percentile(norms, 90)),
            f"{prefix}: share of critic parameters within 1% of +-c":
                round(float(np.mean(np.abs(np.abs(weights) - config["clip"]) <= 0.01 * config["clip"])), 4)}


def main(argv=None):
    args = experiment.parse_args("09_wgan", argv, steps=1500, quick_steps=400,
                                 add_arguments=add_arguments,
                                 description="Chapter 09: WGAN and WGAN-GP on toy data")
    if args.datasets is None:
        args.datasets = ["ring"] if args.quick else list(DATASETS)
    config = {key: getattr(args, key) for key in CONFIG if key != "betas"}
    config["betas"] = CONFIG["betas"]
    run = experiment.Run("09_wgan", args, title="Chapter 09: WGAN and WGAN-GP on toy data")
    every = args.evaluate_every or max(args.steps // 10, 1)
    trained, results, seconds = {}, {}, {}
    rng = np.random.default_rng(args.seed + 1)    # for measuring only, apart from training's
    for dataset in args.datasets:
        for method in args.methods:
            progress = Progress(args.steps, desc=f"{dataset} {method}")
            start = time.perf_counter()
            trained[dataset, method] = train(dataset, method, config, args.steps, args.seed,
                                             progress, every)
            progress.close()
            seconds[dataset, method] = time.perf_counter() - start
            netG, netD, history = trained[dataset, method]
            for step, measured in history:
                run.log(dataset=dataset, method=method, step=step,
                        **{key.replace(" ", "_"): measured.get(key, float("nan"))
                           for key in ("W1 estimate", "modes", "high_quality", "reverse_kl",
                                       "distance to the roll", "real to generated")})
            final = history[-1][1]
            for key, value in final.items():
                if key != "samples":
                    results[f"{dataset} {method}: {key.replace('_', ' ')}"] = \
                        value if key == "modes" else significant(value)
            results.update(describe_critic(dataset, method, netG, netD, config, rng))

    run.savefig(plot_critics(trained, args.datasets, args.methods, rng), "critics",
                "the critic's value over the plane with real (black) and generated (orange) samples")
    run.savefig(plot_gradient_norms(trained, args.datasets, args.methods), "gradient_norms",
                "the length of the critic's gradient over the plane (the critic's coordinates)")
    run.savefig(plot_weights(trained, args.datasets, args.methods, config["clip"]), "weights",
                "histograms of the critic's parameters; dotted: +-c")
    run.savefig(plot_over_training(trained, args.datasets, args.methods), "over_training",
                "modes, high-quality share and the critic's W1 estimate over training")
    for (dataset, method), value in seconds.items():
        results[f"{dataset} {method}: training seconds ({args.steps} generator steps)"] = round(value, 1)
    run.finish(results, notes=f"One seed ({args.seed}); {EVALUATION_SAMPLES} samples for every "
                              f"statistic. Gradient norms in the coordinates the critic sees "
                              f"(the grid divided by 4).")
    return results


if __name__ == "__main__":
    experiment.command_line(main)
