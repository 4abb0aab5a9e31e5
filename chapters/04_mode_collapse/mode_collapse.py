# %% [markdown]
# # Chapter 04: mode collapse in two dimensions
#
# A GAN's generator is rewarded for samples that fool today's discriminator, not
# for covering the data. On a mixture of well separated Gaussians it often puts
# all its samples on a few of the modes (*mode collapse*), or hops from mode to
# mode as the discriminator catches up. In two dimensions we can count it:
# every mode has a known centre, so "how many modes does G reach, and how good
# are its samples" are numbers, not impressions.
#
# The two benchmarks of VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018):
#
# * **ring**: 8 Gaussians of std 0.01 on the unit circle;
# * **grid**: 25 Gaussians of std 0.05 at {-4, -2, 0, 2, 4}^2.
#
# We train three GANs on each, with the same networks, optimiser and budget:
#
# * **vanilla**: the non-saturating GAN of chapters 02 and 03;
# * **PacGAN**: D judges *packs* of m samples at once (`minigan.gan.pacgan`);
# * **unrolled GAN**: G's loss is taken against D after K more SGD steps, and
#   differentiated through those steps (`minigan.gan.unrolled`).
#
# and measure each over 5 seeds with the PacGAN/VEEGAN protocol
# (`minigan.metrics.modes`): 2,500 samples, a sample is *high quality* within 3
# standard deviations of its nearest mode, a mode is *captured* when some
# high-quality sample is nearest to it, and the reverse KL of the mode histogram
# says how evenly the captured modes are filled.
#
# Run: `python chapters/04_mode_collapse/mode_collapse.py` (minutes on two cores;
# `--quick` for a first look). Everything is generated: nothing to download.

# %%
import math
import time

import numpy as np

import minigan
from minigan import experiment
from minigan.data import toy
from minigan.gan import losses
from minigan.gan.ema import ExponentialMovingAverage
from minigan.gan.pacgan import pack
from minigan.gan.stacked import stacked_mlp
from minigan.gan.unrolled import unrolled_generator_loss
from minigan.metrics.modes import mean_and_standard_error, mode_statistics
from minigan.progress import Progress

# %% [markdown]
# ## The data
#
# Both mixtures come from `minigan.data.toy`. The grid spans [-4, 4]; the networks
# see it divided by 4, so that both data sets live in [-1, 1] and one set of
# hyperparameters serves both. Samples are scaled back before they are counted.

# %%
DATASETS = {
    #        sampler     centres              std   scale the networks see
    "ring": (toy.ring, toy.ring_centres(), 0.01, 1.0),
    "grid": (toy.grid, toy.grid_centres(), 0.05, 0.25),
}
METHODS = ("vanilla", "pacgan", "unrolled")
EVALUATION_SAMPLES = 2500      # the protocol's N

# %% [markdown]
# ## Five seeds at once
#
# Mode collapse is a matter of luck as much as of method, so every result is a
# mean over 5 seeds with its standard error. Instead of training 5 GANs one after
# the other, `minigan.gan.stacked` trains them side by side: copy s of a stacked
# layer has its own weights and sees only its own batch, and the batched matrix
# product y[s] = x[s] W[s] + b[s] computes all 5 in one call. Each operation then
# pays its fixed cost (Python, the graph, NumPy's call) once for all 5: a PacGAN
# step took 2.7 ms for one copy and 9.9 ms for a stack of five here, against 13.5
# for five in a row.
# Nothing crosses the copies axis, so this *is* 5 independent runs; each copy's
# weights are drawn from its own seed.
#
# Both players are multilayer perceptrons with ReLU. G maps z ~ N(0, I) in R^2 to
# a point; D maps a point (or a pack of m points, 2 m numbers) to a logit.


# %%
def make_players(config, copies, seed, pack_size):
    """G and D as stacks of ``copies`` networks, copy s drawn from seed 1000 seed + s."""
    generators = [np.random.default_rng(1000 * seed + s) for s in range(copies)]
    hidden = (config["hidden"],) * config["layers"]
    netG = stacked_mlp(copies, (config["z_dim"],) + hidden + (2,), generators=generators)
    netD = stacked_mlp(copies, (2 * pack_size,) + hidden + (1,), generators=generators)
    return netG, netD


def real_batch(sampler, scale, copies, n, rng):
    """(copies, n, 2) real points: each copy gets its own fresh draw."""
    points, _ = sampler(copies * n, rng)
    return minigan.tensor(points.reshape(copies, n, 2) * scale, dtype="float32")


# %% [markdown]
# ## One training step, three ways
#
# The discriminator's step is the same for all three methods: binary cross-entropy
# with logits on real (label 1) and detached generated (label 0) inputs. What
# changes is what D looks at, and what G is trained against.
#
# **PacGAN** reshapes a batch of m n points into n packs of m points,
# `pack(x, m)`: (m n, 2) -> (n, 2 m). A collapsed G makes packs whose m points
# all sit on the same few modes; m independent real points rarely do, and D can
# see it. G's loss is the non-saturating loss on its packs.
#
# **The unrolled GAN** (Metz et al. 2017) copies D's parameters theta_0 and takes
# K steps of SGD on D's loss, *as a function of G's parameters*,
#
#     theta_{k+1} = theta_k - eta dL_D(theta_k, G)/dtheta_k,
#
# then trains G on -log D_{theta_K}(G(z)). Differentiating through the K steps
# (each contains a gradient, so this is a second derivative: `create_graph=True`)
# adds to G's gradient a term saying how D would *respond* to G's move; moving
# every sample to one mode stops paying off. D itself is still updated by one
# ordinary step.
#
# Both players use Adam, with the same settings except that the unrolled GAN's D
# learns 10 times slower than G, as in Metz et al. (with the vanilla GAN the same
# rates fail outright: try `--methods vanilla --lr-d 1e-4`). Two details from practice serve
# all three methods alike: the learning rate falls linearly to zero over the last
# part of training, and samples are drawn from an exponential moving average of
# G's weights (`minigan.gan.ema`), which sits in the middle of the last updates'
# jitter. They sharpen the samples; they do not, by themselves, bring back modes.


# %%
def scaled_losses(copies):
    """The stacked losses: a mean over all copies, times the number of copies.

    Each loss averages over the copies axis too; multiplying by S makes each copy's
    gradient the gradient of its own mean loss (see ``minigan.gan.stacked``).
    """
    def d_loss(real_logits, fake_logits):
        return copies * losses.discriminator_loss(real_logits, fake_logits)

    def g_loss(fake_logits):
        return copies * losses.generator_loss_nonsaturating(fake_logits)
    return d_loss, g_loss


def train_step(method, config, netG, netD, optG, optD, real, z):
    """One D step and one G step of ``method``; returns (loss_d, loss_g) per copy."""
    copies, m = real.shape[0], config["pack"] if method == "pacgan" else 1
    d_loss, g_loss = scaled_losses(copies)
    fake = netG(z)
    loss_d = d_loss(netD(pack(real, m)), netD(pack(fake.detach(), m)))
    optD.zero_grad()
    loss_d.backward()
    optD.step()

    if method == "unrolled":
        loss_g = copies * unrolled_generator_loss(netD, real, fake, steps=config["unroll_steps"],
                                                  lr=config["unroll_lr"])
    else:
        loss_g = g_loss(netD(pack(fake, m)))
    optG.zero_grad()     # the unrolled loss also leaves gradients in D: they are not used
    loss_g.backward()
    optG.step()
    return loss_d.item() / copies, loss_g.item() / copies


def set_learning_rates(schedule, decay, step, steps):
    """Each optimizer's lr, falling linearly to 0 over the last ``decay`` fraction of the steps.

    ``schedule`` lists (optimizer, its initial learning rate) pairs.
    """
    start = steps * (1 - decay)
    factor = 1.0 if step < start else (steps - step) / (steps - start)
    for optimizer, lr in schedule:
        for group in optimizer.param_groups:
            group["lr"] = lr * factor


# %% [markdown]
# ## Measuring
#
# `mode_statistics` counts, for one copy's 2,500 samples, the modes captured, the
# high-quality share and the reverse KL of the mode histogram. A perfect sampler
# of the ring would score 8 modes, a high-quality share of 1 - e^{-9/2} = 98.9%
# (3 standard deviations of a 2-D Gaussian hold that much) and a reverse KL near 0.


# %%
def sample(average, copies, n, z_dim):
    """n samples of every copy of the averaged G: (copies, n, 2) on the host."""
    with minigan.no_grad():
        return average(minigan.randn(copies, n, z_dim)).numpy()


def measure(samples, dataset):
    """The protocol's statistics of every copy's samples (given in the networks' scale)."""
    _, centres, std, scale = DATASETS[dataset]
    return [mode_statistics(s / scale, centres, std) for s in samples]


def train(dataset, method, config, copies, steps, seed, progress, evaluate_every):
    """Train ``copies`` GANs of ``method`` on ``dataset``; return their samples and history.

    Returns (samples (copies, 2500, 2) in data coordinates, history), history being
    a list of (step, [ModeStatistics per copy], samples (copies, 2500, 2)) at every evaluation.
    """
    sampler, _, _, scale = DATASETS[dataset]
    minigan.manual_seed(seed)
    rng = np.random.default_rng(seed)
    m = config["pack"] if method == "pacgan" else 1
    netG, netD = make_players(config, copies, seed, m)
    lr_d = config["unrolled_lr_d"] if method == "unrolled" else config["lr_d"]
    optG = minigan.optim.Adam(netG.parameters(), lr=config["lr_g"], betas=config["betas"])
    optD = minigan.optim.Adam(netD.parameters(), lr=lr_d, betas=config["betas"])
    schedule = [(optG, config["lr_g"]), (optD, lr_d)]
    average = ExponentialMovingAverage(netG, decay=config["ema"])
    history = []
    for step in range(1, steps + 1):
        set_learning_rates(schedule, config["decay"], step - 1, steps)
        real = real_batch(sampler, scale, copies, m * config["batch"], rng)
        z = minigan.randn(copies, m * config["batch"], config["z_dim"])
        loss_d, loss_g = train_step(method, config, netG, netD, optG, optD, real, z)
        average.update()
        if step % evaluate_every == 0 or step == steps:
            samples = sample(average, copies, EVALUATION_SAMPLES, config["z_dim"])
            statistics = measure(samples, dataset)
            history.append((step, statistics, samples / scale))
            progress.values["modes"] = float(np.mean([s.modes for s in statistics]))
        progress.update(loss_d=loss_d, loss_g=loss_g)
    return samples / scale, history


# %% [markdown]
# ## The configuration
#
# One configuration for every method and both data sets; only the fix differs,
# and with the unrolled GAN D's learning rate, which Metz et al. set 10 times
# below G's. The unrolled GAN's step costs about K + 1 plain steps (K look-ahead
# steps of D, then backward through all of them), so it gets (K + 1) times fewer
# steps: every method gets the same compute. The defaults are the published
# configuration of this chapter's results table.

# %%
CONFIG = {
    "hidden": 128, "layers": 2, "z_dim": 2,   # G: 2 -> 128 -> 128 -> 2; D: 2m -> 128 -> 128 -> 1
    "batch": 64,                              # packs (or points) per step, for each copy
    "lr_g": 1e-3, "lr_d": 1e-3,               # Adam's learning rates for G and D...
    "betas": (0.5, 0.999),                    # ...and its betas, for both players
    "decay": 0.5,                             # the lrs fall to 0 over the last half
    "ema": 0.999,                             # samples come from G's averaged weights
    "pack": 2,                                # PacGAN's m
    "unroll_steps": 5, "unroll_lr": 0.01,     # the unrolled GAN's K and eta...
    "unrolled_lr_d": 1e-4,                    # ...and D's lr there: Metz et al.'s D learns 10x slower than G
}


# What each setting of CONFIG may be: counts from 1 (K from 0: no look-ahead, the plain
# loss), rates above 0, and the two fractions in [0, 1] and [0, 1).
CONFIG_TYPES = {
    "hidden": experiment.whole_number(1), "layers": experiment.whole_number(1),
    "z_dim": experiment.whole_number(1), "batch": experiment.whole_number(1),
    "lr_g": experiment.number(above=0), "lr_d": experiment.number(above=0),
    "decay": experiment.number(minimum=0, maximum=1),
    "ema": experiment.number(minimum=0, below=1),
    "pack": experiment.whole_number(1),
    "unroll_steps": experiment.whole_number(0), "unroll_lr": experiment.number(above=0),
    "unrolled_lr_d": experiment.number(above=0),
}


def add_arguments(parser):
    count = experiment.whole_number(1)
    parser.add_argument("--datasets", nargs="+", choices=list(DATASETS), default=list(DATASETS))
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--seeds", type=count, default=5, help="independent runs (default 5)")
    parser.add_argument("--grid-steps", type=count, default=None,
                        help="training steps on the grid of 25 (default: twice --steps; with "
                             "--quick, --steps): its 25 modes take longer to fill")
    parser.add_argument("--unrolled-training-steps", type=count, default=None,
                        help="training steps of the unrolled GAN, each of which costs about "
                             "K + 1 plain steps (default: steps / (K + 1), the same compute)")
    parser.add_argument("--evaluate-every", type=count, default=None,
                        help="measure the modes every N steps (default steps / 10)")
    for key, value in CONFIG.items():
        if key != "betas":
            parser.add_argument("--" + key.replace("_", "-"), type=CONFIG_TYPES[key],
                                default=value, help=f"(default {value})")


# %%
def plot_samples(final, datasets, methods):
    """Seed 0's samples of every method over the mode centres."""
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(len(datasets), len(methods), squeeze=False,
                                figsize=(3.6 * len(methods), 3.6 * len(datasets)))
    for row, dataset in enumerate(datasets):
        centres, limit = DATASETS[dataset][1], 1.4 if dataset == "ring" else 5.2
        for column, method in enumerate(methods):
            axis = axes[row, column]
            samples, statistics = final[dataset, method]
            axis.scatter(samples[0][:, 0], samples[0][:, 1], s=2, alpha=0.3, color="tab:blue",
                         rasterized=True)
            axis.scatter(centres[:, 0], centres[:, 1], marker="x", s=30, color="tab:red")
            s0 = statistics[0]
            axis.set_title(f"{dataset}, {method}\nseed 0: {s0.modes}/{len(centres)} modes, "
                           f"{100 * s0.high_quality:.0f}% high quality", fontsize=9)
            axis.set_xlim(-limit, limit)
            axis.set_ylim(-limit, limit)
            axis.set_aspect("equal")
            axis.set_xticks([])
            axis.set_yticks([])
    figure.suptitle("2,500 samples of each GAN (seed 0); red crosses: the true modes")
    figure.tight_layout()
    return figure


def plot_over_training(histories, datasets, methods, unroll_steps):
    """Mean modes captured and high-quality share against the compute spent, per method.

    The x axis counts plain GAN steps: an unrolled step counts K + 1, its approximate cost.
    """
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(2, len(datasets), squeeze=False,
                                figsize=(5 * len(datasets), 6.5), sharex="col")
    for column, dataset in enumerate(datasets):
        for method in methods:
            history = histories[dataset, method]
            cost = unroll_steps + 1 if method == "unrolled" else 1
            steps = [cost * h[0] for h in history]
            modes = [np.mean([s.modes for s in h[1]]) for h in history]
            quality = [100 * np.mean([s.high_quality for s in h[1]]) for h in history]
            axes[0, column].plot(steps, modes, marker=".", label=method)
            axes[1, column].plot(steps, quality, marker=".", label=method)
        axes[0, column].axhline(len(DATASETS[dataset][1]), color="gray", linestyle=":")
        axes[0, column].set_title(f"{dataset}: modes captured (mean over seeds)")
        axes[1, column].set_title(f"{dataset}: high-quality samples, %")
        axes[1, column].set_xlabel("compute spent, in plain GAN steps (an unrolled step counts K + 1)")
        axes[0, column].legend(fontsize=8)
    figure.tight_layout()
    return figure


def plot_snapshots(histories, dataset, methods, count=6):
    """Each method's worst seed (fewest modes at the end) at ``count`` moments of training."""
    import matplotlib.pyplot as plt
    centres = DATASETS[dataset][1]
    limit = 1.4 if dataset == "ring" else 5.2
    figure, axes = plt.subplots(len(methods), count, squeeze=False,
                                figsize=(2.2 * count, 2.3 * len(methods)))
    for row, method in enumerate(methods):
        history = histories[dataset, method]
        worst = int(np.argmin([s.modes for s in history[-1][1]]))
        picks = np.unique(np.linspace(0, len(history) - 1, count).round().astype(int))
        for column in range(count):
            axis = axes[row, column]
            axis.set_xticks([])
            axis.set_yticks([])
            axis.set_xlim(-limit, limit)
            axis.set_ylim(-limit, limit)
            axis.set_aspect("equal")
            if column >= len(picks):
                continue
            step, statistics, samples = history[picks[column]]
            axis.scatter(samples[worst][:, 0], samples[worst][:, 1], s=1, alpha=0.3,
                         rasterized=True)
            axis.scatter(centres[:, 0], centres[:, 1], marker="x", s=12, color="tab:red")
            axis.set_title(f"step {step}: modes {statistics[worst].modes}", fontsize=8)
            if column == 0:
                axis.set_ylabel(f"{method}, seed {worst}")
    figure.suptitle(f"{dataset}: each method's worst seed over training")
    figure.tight_layout()
    return figure


def summarise(final, datasets, methods):
    """Mean and standard error over seeds of each statistic, as results and a table."""
    results, rows = {}, []
    for dataset in datasets:
        for method in methods:
            statistics = final[dataset, method][1]
            row = [dataset, method]
            # A seed with no high-quality sample has no mode histogram, so no reverse KL:
            # the KL is averaged over the other seeds, and the count of such seeds is reported.
            kls = [s.reverse_kl for s in statistics if not math.isnan(s.reverse_kl)]
            results[f"{dataset} {method}: seeds without a high-quality sample"] = \
                len(statistics) - len(kls)
            for name, values in [("modes", [s.modes for s in statistics]),
                                 ("high quality", [s.high_quality for s in statistics]),
                                 ("reverse KL", kls or [math.nan])]:
                mean, error = mean_and_standard_error(values)
                results[f"{dataset} {method}: {name}"] = round(mean, 4)
                results[f"{dataset} {method}: {name}, standard error"] = round(error, 4)
                row.append(f"{100 * mean:.1f} ± {100 * error:.1f}%" if name == "high quality"
                           else f"{mean:.2f} ± {error:.2f}")
            results[f"{dataset} {method}: modes per seed"] = " ".join(
                str(s.modes) for s in statistics)
            rows.append(row)
    table = ["| data | method | modes | high quality | reverse KL |", "| --- | --- | --- | --- | --- |"]
    table += ["| " + " | ".join(row) + " |" for row in rows]
    return results, "\n".join(table)


def main(argv=None):
    args = experiment.parse_args("04_mode_collapse", argv, steps=12000, quick_steps=3000,
                                 add_arguments=add_arguments,
                                 description="Chapter 04: mode collapse in two dimensions")
    config = {key: getattr(args, key) for key in CONFIG if key != "betas"}
    config["betas"] = CONFIG["betas"]
    run = experiment.Run("04_mode_collapse", args, title="Chapter 04: mode collapse in 2-D")
    # The grid's 25 modes take longer to fill than the ring's 8: at 12,000 steps PacGAN's
    # high-quality share is still climbing (72%), at 24,000 it is where the paper has it.
    plain_steps = {"ring": args.steps,
                   "grid": args.grid_steps or (args.steps if args.quick else 2 * args.steps)}
    budget = {(dataset, method): (args.unrolled_training_steps
                                  or max(plain_steps[dataset] // (args.unroll_steps + 1), 1))
              if method == "unrolled" else plain_steps[dataset]
              for dataset in args.datasets for method in args.methods}
    final, histories, seconds = {}, {}, {}
    for dataset in args.datasets:
        for method in args.methods:
            steps = budget[dataset, method]
            every = args.evaluate_every or max(steps // 10, 1)
            progress = Progress(steps, desc=f"{dataset} {method}")
            start = time.perf_counter()
            samples, history = train(dataset, method, config, args.seeds, steps, args.seed,
                                     progress, every)
            progress.close()
            seconds[dataset, method] = time.perf_counter() - start
            final[dataset, method] = samples, history[-1][1]
            histories[dataset, method] = history
            for step, statistics, _ in history:
                run.log(dataset=dataset, method=method, step=step,
                        modes=np.mean([s.modes for s in statistics]),
                        high_quality=np.mean([s.high_quality for s in statistics]),
                        reverse_kl=np.mean([s.reverse_kl for s in statistics]))

    run.savefig(plot_samples(final, args.datasets, args.methods), "samples",
                "seed 0's samples of each method over the true modes")
    run.savefig(plot_over_training(histories, args.datasets, args.methods, args.unroll_steps),
                "over_training", "modes captured and high-quality share against the compute "
                                 "spent, mean over seeds")
    for dataset in args.datasets:
        run.savefig(plot_snapshots(histories, dataset, args.methods), f"snapshots_{dataset}",
                    f"{dataset}: each method's worst seed over training, one row per method")
    results, table = summarise(final, args.datasets, args.methods)
    for key, value in seconds.items():
        results[f"{key[0]} {key[1]}: training seconds ({args.seeds} seeds, {budget[key]} steps)"] = round(value, 1)
    run.finish(results, notes=f"Mean ± standard error over {args.seeds} seeds, "
                              f"{EVALUATION_SAMPLES} samples each.\n\n{table}")
    return results


if __name__ == "__main__":
    experiment.command_line(main)
