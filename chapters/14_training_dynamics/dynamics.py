# %% [markdown]
# # Chapter 14: training dynamics
#
# Why does GAN training oscillate, and what makes it converge? In a GAN each player
# descends its *own* loss, so the direction the parameters move in is not the gradient of
# any one function: it can rotate. This chapter takes the smallest GAN there is, the
# **Dirac-GAN** of Mescheder, Geiger & Nowozin (2018), whose dynamics have closed forms,
# and checks every claim about it against them: simultaneous gradient steps spiral out,
# alternating steps circle, the continuous flow circles, and a zero-centred gradient
# penalty (R1), instance noise and optimizers built for games (extragradient, optimistic
# gradient) spiral in, each at the rate its eigenvalues predict; WGAN-GP's penalty does
# not converge. Then it carries the questions to real models (how to alternate, how many
# D steps, which learning rates) on the ring of 8 Gaussians and on Fashion-MNIST, at an
# equal compute budget, and ends with the question every practitioner asks: the losses
# do not say when to stop, so what does?
#
# Run: `python chapters/14_training_dynamics/dynamics.py` (minutes on two cores; `--quick`
# for a first look; `--parts dirac` for the Dirac-GAN alone, in seconds, no data).

# %%
import copy
import csv
import time

import numpy as np
import scipy.stats

import minigan
import minigan.nn as nn
import minigan.nn.functional as F
from minigan import backend, data, experiment, plots
from minigan.data import toy
from minigan.gan import dynamics, losses
from minigan.gan.stacked import stacked_mlp
from minigan.metrics import features
from minigan.metrics.fid import fid
from minigan.metrics.modes import mean_and_standard_error, mode_statistics
from minigan.training import Trainer, evaluating, generate, own_random_stream

PARTS = ("dirac", "ring", "images", "stopping")

# %% [markdown]
# ## Part 1: the Dirac-GAN (`minigan.gan.dynamics`)
#
# Data: a point mass at 0. G: a point mass at theta. D: the line D(x) = psi x. The game's
# value is L(theta, psi) = f(psi theta) + f(0) with f(t) = -log(1 + e^{-t}) for the standard
# GAN (f'(0) = 1/2); G lowers it, D raises it. The players' field
#
#     v(theta, psi) = (-psi f'(psi theta), theta f'(psi theta))
#
# vanishes only at the equilibrium (0, 0), where its Jacobian [[0, -f'(0)], [f'(0), 0]] has
# the eigenvalues +-i f'(0): a pure rotation, with nothing pulling inwards. `dynamics`
# computes v with minigan's autograd (the penalties are `minigan.gan.penalties`' own, on
# the critic x -> psi x) and runs each method with minigan's optimizers; its closed forms
# give each method's linear map near the equilibrium. The distance to (0, 0) then changes
# per step by the map's spectral radius:
#
# | method | map near 0 | spectral radius (h: step size, c = f'(0)) |
# | --- | --- | --- |
# | simultaneous | I + hJ | sqrt(1 + h^2 c^2) > 1: spirals out |
# | alternating | (I + h J_G)(I + h J_D) | 1 (determinant 1): circles |
# | R1, gamma | I + hJ, J's corner -gamma | \|1 + h lambda\|, lambda = -gamma/2 +- ... |
# | instance noise, sigma | I + hJ, J's corner 2 f''(0) sigma^2 | as R1 with gamma = sigma^2 / 2 |
# | extragradient | I + hJ + h^2 J^2 | sqrt(1 - h^2 c^2 + h^4 c^4) < 1 |
# | optimistic | [[I + 2hJ, -hJ], [I, 0]] | largest root of z^2 - (1 + 2h lambda) z + h lambda |
#
# (R1's lambda = -gamma/2 +- sqrt(gamma^2/4 - c^2).)
#
# The rates are measured from a start close to the equilibrium (1e-3), where the field is
# linear, as the slope of log-distance against step; the trajectories in the figure start
# at (1, 1), where it is not.

# %%
DIRAC_LR = 0.1          # h, the step size of every discrete method
R1_GAMMA = 0.3
NOISE_STD = 0.8         # acts like R1 with gamma = sigma^2 / 2 = 0.32
GP_GAMMA = 1.0
DIRAC_CASES = [
    # label,                 method,          the game (loss, regulariser, gamma, noise_std)
    ("simultaneous",         "simultaneous",  {}),
    ("alternating",          "alternating",   {}),
    ("R1 (gamma 0.3)",       "simultaneous",  {"regulariser": "r1", "gamma": R1_GAMMA}),
    ("instance noise (sigma 0.8)", "simultaneous", {"noise_std": NOISE_STD}),
    ("extragradient",        "extragradient", {}),
    ("optimistic",           "optimistic",    {}),
    ("WGAN-GP (gamma 1)",    "simultaneous",  {"loss": "wasserstein", "regulariser": "wgan-gp",
                                               "gamma": GP_GAMMA}),
]


def closed_form(method, game, lr):
    """(the Jacobian's eigenvalues, the update map's spectral radius) at the equilibrium;
    (None, None) for WGAN-GP, whose field has no derivative there."""
    if game.get("regulariser") == "wgan-gp":
        return None, None
    J = dynamics.jacobian(loss=game.get("loss", "standard"), gamma=game.get("gamma", 0.0),
                          noise_std=game.get("noise_std", 0.0))
    return np.linalg.eigvals(J), dynamics.spectral_radius(dynamics.update_matrix(method, J, lr))


def dirac_part(steps, trajectory_steps, run):
    """Every method's measured rate against its closed form, the flow's conserved quantity,
    and the two figures. Returns (results, table rows)."""
    results, rows, paths, trajectories = {}, [], {}, {}
    for label, method, game in DIRAC_CASES:
        eigenvalues, predicted = closed_form(method, game, DIRAC_LR)
        paths[label] = path = dynamics.simulate(method, [1e-3, 0.0], steps, DIRAC_LR, **game)
        trajectories[label] = dynamics.simulate(method, [1.0, 1.0], trajectory_steps,
                                                DIRAC_LR, **game)
        distance = np.linalg.norm(path, axis=1)
        key = f"dirac {label}"
        if predicted is None:
            results[f"{key}: distance at the end (started at 1e-3)"] = round(distance[-1], 4)
            rows.append([label, "none (not differentiable)", "-", "-",
                         f"distance 1e-3 -> {distance[-1]:.3f}: does not converge"])
            continue
        measured = dynamics.measured_rate(path)
        results[f"{key}: measured rate per step"] = round(measured, 7)
        results[f"{key}: predicted rate per step"] = round(predicted, 7)
        eig = " ".join(f"{e.real:+.3f}{e.imag:+.3f}i" for e in eigenvalues)
        if abs(np.log(predicted)) < 1e-12:           # radius 1: the log-rates' ratio is 0/0
            drift = abs(np.log(measured))
            results[f"{key}: |log measured rate|"] = float(f"{drift:.2g}")
            results[f"{key}: max / min distance"] = round(distance.max() / distance.min(), 4)
            verdict = (f"circles: distance stays in [{distance.min() / 1e-3:.3f}, "
                       f"{distance.max() / 1e-3:.3f}] x 1e-3")
        else:
            error = abs(np.log(measured) / np.log(predicted) - 1)
            results[f"{key}: log-rate error"] = float(f"{error:.2g}")
            verdict = ("spirals out" if predicted > 1 else "spirals in") + \
                f", log-rate off by {100 * error:.2g}%"
        rows.append([label, eig, f"{predicted:.5f}", f"{measured:.5f}", verdict])

    # The continuous flow: theta^2 + psi^2 is conserved (RK4, dt = 0.05, 40 time units).
    circle = dynamics.flow([1.0, 1.0], 40.0, 0.05)
    radius2 = np.sum(circle ** 2, axis=1)
    change = float(np.max(np.abs(radius2 / radius2[0] - 1)))
    results["dirac flow: max relative change of theta^2 + psi^2"] = float(f"{change:.2g}")
    trajectories["continuous flow"] = circle
    rows.insert(2, ["continuous flow", "+0.000+0.500i +0.000-0.500i", "(dt -> 0)", "-",
                    f"circles: theta^2 + psi^2 kept to {change:.1g}"])
    run.savefig(plot_field(trajectories), "dirac_field",
                "the Dirac-GAN's field (grey) and each method's path from (1, 1)")
    run.savefig(plot_rates(paths), "dirac_rates",
                "distance to the equilibrium against step from 1e-3; dashed: the closed forms")
    table = ["| method | eigenvalues of J | predicted rate | measured rate | what it does |",
             "| --- | --- | --- | --- | --- |"] + ["| " + " | ".join(r) + " |" for r in rows]
    return results, "\n".join(table)


# %%
def plot_field(trajectories):
    """One panel per method: its game's field as streamlines, and its path from (1, 1)."""
    import matplotlib.pyplot as plt
    games = {label: game for label, _, game in DIRAC_CASES}
    games["continuous flow"] = {}
    order = ["simultaneous", "alternating", "continuous flow"] + \
        [label for label, _, _ in DIRAC_CASES[2:]]
    figure, axes = plt.subplots(2, 4, figsize=(16, 8))
    grid = np.linspace(-2, 2, 15)
    fields = {}
    for axis, label in zip(axes.ravel(), order):
        key = repr(sorted(games[label].items()))
        if key not in fields:
            fields[key] = np.array([[dynamics.vector_field([t, p], **games[label])
                                     for t in grid] for p in grid])
        field = fields[key]
        axis.streamplot(grid, grid, field[..., 0], field[..., 1], color="0.75", density=0.8,
                        linewidth=0.7)
        path = trajectories[label]
        axis.plot(path[:, 0], path[:, 1], color="tab:blue", linewidth=1)
        axis.plot(*path[0], "o", color="tab:green", markersize=5)
        axis.plot(*path[-1], "s", color="tab:red", markersize=5)
        axis.plot(0, 0, "k*", markersize=9)
        axis.set_xlim(-2, 2)
        axis.set_ylim(-2, 2)
        axis.set_aspect("equal")
        axis.set_title(label, fontsize=10)
        axis.set_xlabel("theta (G)")
        axis.set_ylabel("psi (D)")
    figure.suptitle(f"The Dirac-GAN: grey, each game's field; blue, the path from (1, 1) "
                    f"(green) to its end (red); star, the equilibrium (h = {DIRAC_LR})")
    figure.tight_layout()
    return figure


def plot_rates(paths):
    import matplotlib.pyplot as plt
    figure, axis = plt.subplots(figsize=(9, 5.5))
    for (label, method, game), colour in zip(DIRAC_CASES, plt.cm.tab10.colors):
        distance = np.linalg.norm(paths[label], axis=1)
        steps = np.arange(len(distance))
        axis.plot(steps, distance / distance[0], color=colour, label=label)
        _, predicted = closed_form(method, game, DIRAC_LR)
        if predicted is not None:
            axis.plot(steps, predicted ** steps, color=colour, linestyle="--", linewidth=2,
                      alpha=0.6)
    axis.set_yscale("log")
    axis.set_xlabel("step")
    axis.set_ylabel("distance to the equilibrium / distance at the start")
    axis.set_title("Measured (solid) against the spectral radius^step (dashed), from 1e-3")
    axis.legend(fontsize=8)
    figure.tight_layout()
    return figure


# %% [markdown]
# ## Part 2: from the toy to real models
#
# The Dirac-GAN says: simultaneous steps are worse than alternating ones, and anything
# that damps the rotation helps. Three knobs practitioners turn do that, or claim to:
#
# * **simultaneous or alternating** updates: both players step from the same point, or D
#   steps first and G answers the D just updated (what every chapter so far has done);
# * **n_D**, the number of D steps per G step (WGAN took 5);
# * **two learning rates** (TTUR, Heusel et al. 2017): D faster than G.
#
# A fair comparison gives every configuration the same compute: here the same number of
# *gradient evaluations*, one per D step and one per G step (a simultaneous step costs two),
# so 5 D steps per G step get a sixth as many G steps as alternating 1:1 gets halves. (One
# G evaluation costs a little more than one D evaluation: it goes back through D into G.
# The results table also gives the seconds each took.) Every configuration is trained on
# several seeds at once with chapter 04's stacked networks (copy s of each layer has its
# own weights and sees only its own batch), with Adam (betas 0.5, 0.999).
#
# Each configuration's losses, G's gradient norm and D's mean probabilities on real and on
# generated points, per seed, go to `sweep/<data>/<configuration>/seed<s>/metrics.csv`.


# %%
RING_CONFIGS = [
    # label,                update,         D steps per G step, lr_D, lr_G
    ("simultaneous",        "simultaneous", 1, 1e-3, 1e-3),
    ("alternating",         "alternating",  1, 1e-3, 1e-3),
    ("alternating, n_D 2",  "alternating",  2, 1e-3, 1e-3),
    ("alternating, n_D 5",  "alternating",  5, 1e-3, 1e-3),
    ("TTUR, lr_G = lr_D / 4", "alternating", 1, 1e-3, 2.5e-4),
    ("TTUR, simultaneous",  "simultaneous", 1, 1e-3, 2.5e-4),
]
IMAGE_CONFIGS = [
    ("simultaneous",        "simultaneous", 1, 1e-3, 1e-3),
    ("alternating",         "alternating",  1, 1e-3, 1e-3),
    ("alternating, n_D 2",  "alternating",  2, 1e-3, 1e-3),
    ("TTUR, lr_G = lr_D / 4", "alternating", 1, 1e-3, 2.5e-4),
]
LOG_COLUMNS = ["step", "evaluations", "loss_d", "loss_g", "grad_norm_g", "d_real", "d_fake"]


def copy_statistics(real_logits, fake_logits, g_logits):
    """Per copy: D's and G's losses (the non-saturating GAN's), D's mean probability of 'real'
    on real and on generated points, from the logits (S, N, 1) of one step."""
    real, fake, g = (backend.to_numpy(t.data).astype(np.float64).reshape(t.shape[0], -1)
                     for t in (real_logits, fake_logits, g_logits))
    return {"loss_d": np.logaddexp(0, -real).mean(1) + np.logaddexp(0, fake).mean(1),
            "loss_g": np.logaddexp(0, -g).mean(1),
            "d_real": (1 / (1 + np.exp(-real))).mean(1),
            "d_fake": (1 / (1 + np.exp(-fake))).mean(1)}


def copy_gradient_norms(parameters):
    """Per copy s: the L2 norm of G's gradient over all its parameters' copy s."""
    total = 0.0
    for p in parameters:
        g = backend.to_numpy(p.grad.data).astype(np.float64)
        total = total + (g.reshape(g.shape[0], -1) ** 2).sum(axis=1)
    return np.sqrt(total)


def train_stacked(G, D, copies, real_batch, z_dim, batch, setting, budget, log_every):
    """Train the stacked G and D (``copies`` networks each) with ``setting`` = (update, n_D,
    lr_D, lr_G) until ``budget`` gradient evaluations are spent. Returns (the log: one dict of
    per-copy arrays per logged G step; the number of G steps taken)."""
    update, n_d, lr_d, lr_g = setting
    g_params, d_params = list(G.parameters()), list(D.parameters())
    opt_g = minigan.optim.Adam(g_params, lr=lr_g, betas=(0.5, 0.999))
    opt_d = minigan.optim.Adam(d_params, lr=lr_d, betas=(0.5, 0.999))
    log, spent, g_steps = [], 0, 0
    cost = 2 if update == "simultaneous" else n_d + 1
    while spent + cost <= budget:
        if update == "simultaneous":
            # Both gradients at the same point: G's loss is taken against D before D moves.
            fake = G(minigan.randn(copies, batch, z_dim))
            real_logits, fake_logits = D(real_batch()), D(fake.detach())
            g_logits = D(fake)
            loss_d = copies * losses.discriminator_loss(real_logits, fake_logits)
            loss_g = copies * losses.generator_loss_nonsaturating(g_logits)
            for p, g in zip(d_params, minigan.grad(loss_d, d_params)):
                p.grad = g
            for p, g in zip(g_params, minigan.grad(loss_g, g_params)):
                p.grad = g
            opt_d.step()
            opt_g.step()
        else:
            for _ in range(n_d):
                fake = G(minigan.randn(copies, batch, z_dim)).detach()
                real_logits, fake_logits = D(real_batch()), D(fake)
                loss_d = copies * losses.discriminator_loss(real_logits, fake_logits)
                opt_d.zero_grad()
                loss_d.backward()
                opt_d.step()
            g_logits = D(G(minigan.randn(copies, batch, z_dim)))
            loss_g = copies * losses.generator_loss_nonsaturating(g_logits)
            opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()
        spent += cost
        g_steps += 1
        if g_steps % log_every == 0:
            row = copy_statistics(real_logits, fake_logits, g_logits)
            row["grad_norm_g"] = copy_gradient_norms(g_params)
            log.append({"step": g_steps, "evaluations": spent, **row})
    return log, g_steps


def write_sweep_logs(run, dataset, label, log):
    """sweep/<dataset>/<label>/seed<s>/metrics.csv: one file per seed, the columns of
    ``LOG_COLUMNS`` (what ``python -m minigan diagnose`` reads in a run's metrics.csv)."""
    name = "".join(c if c.isalnum() else "_" for c in label).strip("_")
    copies = len(log[0]["loss_d"]) if log else 0
    for s in range(copies):
        folder = run.dir / "sweep" / dataset / name / f"seed{s}"
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "metrics.csv", "w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(LOG_COLUMNS)
            for row in log:
                writer.writerow([row["step"], row["evaluations"]] +
                                [f"{float(row[c][s]):.6g}" for c in LOG_COLUMNS[2:]])


# %% [markdown]
# ### The ring of 8 Gaussians
#
# Chapter 04's networks (2 -> 128 -> 128 -> 2 and 2 -> 128 -> 128 -> 1, ReLU) and its
# protocol (`minigan.metrics.modes`: 2,500 samples; a mode is captured when a sample lands
# within 3 standard deviations of it), with no EMA of the weights and no learning-rate decay:
# the raw dynamics.


# %%
def ring_part(args, run):
    rows, results, finals = [], {}, {}
    centres = toy.ring_centres()
    for label, *setting in RING_CONFIGS:
        minigan.manual_seed(args.seed)
        rng = np.random.default_rng(args.seed)
        generators = [np.random.default_rng(1000 * args.seed + s) for s in range(args.ring_seeds)]
        G = stacked_mlp(args.ring_seeds, (2, 128, 128, 2), generators=generators)
        D = stacked_mlp(args.ring_seeds, (2, 128, 128, 1), generators=generators)

        def real_batch():
            points, _ = toy.ring(args.ring_seeds * 64, rng)
            return minigan.tensor(points.reshape(args.ring_seeds, 64, 2), dtype="float32")

        started, cpu = time.perf_counter(), time.process_time()
        log, g_steps = train_stacked(G, D, args.ring_seeds, real_batch, 2, 64, setting,
                                     args.ring_budget, log_every=10)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        write_sweep_logs(run, "ring", label, log)
        with minigan.no_grad():
            samples = G(minigan.randn(args.ring_seeds, 2500, 2)).numpy()
        statistics = [mode_statistics(s, centres, 0.01) for s in samples]
        finals[label] = samples, statistics
        modes = [s.modes for s in statistics]
        quality = [s.high_quality for s in statistics]
        (m, m_err), (q, q_err) = mean_and_standard_error(modes), mean_and_standard_error(quality)
        results[f"ring {label}: modes"] = round(m, 3)
        results[f"ring {label}: modes, standard error"] = round(m_err, 3)
        results[f"ring {label}: modes per seed"] = " ".join(map(str, modes))
        results[f"ring {label}: high quality"] = round(q, 4)
        results[f"ring {label}: G steps"] = g_steps
        results[f"ring {label}: seconds"] = round(seconds, 1)
        rows.append([label, f"{m:.2f} ± {m_err:.2f}", " ".join(map(str, modes)),
                     f"{100 * q:.1f} ± {100 * q_err:.1f}%", str(g_steps),
                     f"{seconds:.1f} ({cpu:.1f} CPU)"])
        print(f"ring {label}: modes {m:.2f} ± {m_err:.2f}, high quality {100 * q:.1f}%, "
              f"{seconds:.1f} s", flush=True)
    run.savefig(plot_ring(finals), "ring_samples",
                "seed 0's samples of every configuration, after the same compute")
    table = ["| configuration | modes (of 8) | per seed | high quality | G steps | seconds |",
             "| --- | --- | --- | --- | --- | --- |"] + ["| " + " | ".join(r) + " |" for r in rows]
    return results, "\n".join(table)


def plot_ring(finals):
    import matplotlib.pyplot as plt
    centres = toy.ring_centres()
    figure, axes = plt.subplots(1, len(finals), figsize=(2.8 * len(finals), 3.2))
    for axis, (label, (samples, statistics)) in zip(np.atleast_1d(axes), finals.items()):
        axis.scatter(samples[0][:, 0], samples[0][:, 1], s=1, alpha=0.3, rasterized=True)
        axis.scatter(centres[:, 0], centres[:, 1], marker="x", s=20, color="tab:red")
        axis.set_title(f"{label}\nseed 0: modes captured {statistics[0].modes} of 8", fontsize=8)
        axis.set_xlim(-1.5, 1.5)
        axis.set_ylim(-1.5, 1.5)
        axis.set_aspect("equal")
        axis.set_xticks([])
        axis.set_yticks([])
    figure.tight_layout()
    return figure


# %% [markdown]
# ### Fashion-MNIST
#
# A small MLP GAN (G: 64 -> 256 -> 784, ReLU, tanh; D: 784 -> 256 -> 1, LeakyReLU 0.2;
# Adam at lr 1e-3, betas 0.5, 0.999), stacked over seeds like the ring's, measured with FID
# on minigan's feature network (chapter 05) against the test images. It is no match for
# chapter 06's DCGAN, but a step costs 5 ms instead of 100.


# %%
def image_part(args, run, network, reference, train_images):
    rows, results = [], {}
    flat = train_images.reshape(len(train_images), -1)
    for label, *setting in IMAGE_CONFIGS:
        minigan.manual_seed(args.seed)
        rng = np.random.default_rng(args.seed)
        generators = [np.random.default_rng(1000 * args.seed + s)
                      for s in range(args.image_seeds)]
        G = nn.Sequential(stacked_mlp(args.image_seeds, (64, 256, 784),
                                      generators=generators), nn.Tanh())
        D = stacked_mlp(args.image_seeds, (784, 256, 1), activation="leaky_relu",
                        generators=generators)

        def real_batch():
            index = rng.integers(0, len(flat), args.image_seeds * 64)
            return minigan.tensor(flat[index].reshape(args.image_seeds, 64, 784))

        started, cpu = time.perf_counter(), time.process_time()
        log, g_steps = train_stacked(G, D, args.image_seeds, real_batch, 64, 64, setting,
                                     args.image_budget, log_every=10)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        write_sweep_logs(run, "fashion_mnist", label, log)
        scores = []
        with own_random_stream(args.seed + 1), minigan.no_grad():
            images = G(minigan.randn(args.image_seeds, args.fid_samples, 64)).numpy()
        for s in range(args.image_seeds):
            generated = features.predict(network, images[s].reshape(-1, 1, 28, 28))[0]
            scores.append(fid(generated, reference))
        mean, error = mean_and_standard_error(scores)
        results[f"images {label}: FID"] = round(mean, 2)
        results[f"images {label}: FID, standard error"] = round(error, 2)
        results[f"images {label}: FID per seed"] = " ".join(f"{x:.1f}" for x in scores)
        results[f"images {label}: G steps"] = g_steps
        results[f"images {label}: seconds"] = round(seconds, 1)
        rows.append([label, f"{mean:.1f} ± {error:.1f}", " ".join(f"{x:.1f}" for x in scores),
                     str(g_steps), f"{seconds:.1f} ({cpu:.1f} CPU)"])
        print(f"images {label}: FID {mean:.1f} ± {error:.1f}, {seconds:.1f} s", flush=True)
    table = ["| configuration | FID | per seed | G steps | seconds |",
             "| --- | --- | --- | --- | --- |"] + ["| " + " | ".join(r) + " |" for r in rows]
    return results, "\n".join(table)


# %% [markdown]
# ## Part 3: the losses are not progress
#
# D's loss and G's loss are what a training run prints, but in a game neither is a
# measure of how good G is: each is measured against an opponent that moves. One MLP GAN
# (not stacked this time, with minigan's Trainer: checkpoints, `--resume`, an evaluation
# every `--evaluate-every` steps on a random stream of its own) is trained for the whole
# `--steps`; at every evaluation we measure FID and recall against the first
# `--fid-samples` test images, and keep a copy of G. Then:
#
# * the **rank correlation** (Spearman) along the run between each loss (averaged over the
#   steps since the evaluation before) and FID, and recall: would the loss have told us?
# * the step of the **best FID** against the **last** step;
# * **checkpoint selection by a held-out metric**: choose the evaluated G with the best
#   FID, then measure it and the last G again on *fresh* samples against *other* real
#   images (the next `--fid-samples` test images), so that the choice is not graded on
#   the numbers it was chosen by (the minimum of many noisy FIDs is biased low).


# %%
def make_mlp_gan(z_dim=64):
    """The image sweep's MLP GAN as plain (unstacked) networks, for the Trainer."""
    G = nn.Sequential(nn.Linear(z_dim, 256), nn.ReLU(), nn.Linear(256, 784), nn.Tanh(),
                      nn.Unflatten(1, (1, 28, 28)))
    D = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.LeakyReLU(0.2), nn.Linear(256, 1))
    return G, D


def gradient_norm(parameters):
    """||dL/dtheta||_2 over ``parameters``, a one-element tensor: on a GPU it stays there
    until the Trainer logs it."""
    return sum((p.grad * p.grad).sum() for p in parameters).sqrt()


def make_step(G, D, opt_g, opt_d, batch, z_dim):
    g_params = list(G.parameters())

    def step(real):
        fake = G(minigan.randn(batch, z_dim))
        real_logits, fake_logits = D(real), D(fake.detach())
        loss_d = losses.discriminator_loss(real_logits, fake_logits)
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = losses.generator_loss_nonsaturating(D(fake))
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        return {"loss_d": loss_d, "loss_g": loss_g, "grad_norm_g": gradient_norm(g_params),
                "d_real": F.sigmoid(real_logits).mean(), "d_fake": F.sigmoid(fake_logits).mean()}
    return step


def stopping_part(args, run, network, reference, fresh_reference, train_images):
    z_dim = 64
    minigan.manual_seed(args.seed)
    G, D = make_mlp_gan(z_dim)
    opt_g = minigan.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999))
    opt_d = minigan.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.999))
    fixed_z = minigan.randn(36, z_dim)
    kept = {}    # step -> a copy of G's weights at that evaluation

    def evaluate(step):
        kept[step] = copy.deepcopy(G.state_dict())
        with evaluating(G):
            samples = G(fixed_z).numpy()
        return {**features.image_scores(network, generate(G, args.fid_samples, z_dim), reference),
                "samples": samples}

    trainer = Trainer(make_step(G, D, opt_g, opt_d, 64, z_dim),
                      data.Batches(train_images, batch_size=64, seed=args.seed), args.steps, run,
                      G=G, D=D, opt_g=opt_g, opt_d=opt_d, log_every=10,
                      checkpoint_every=args.checkpoint_every, evaluate_fn=evaluate,
                      evaluate_every=args.evaluate_every, resume=args.resume, desc="MLP GAN")
    if trainer.finished:
        return None
    evaluations = trainer.fit()
    metrics = run.metrics()
    return analyse_stopping(args, run, G, network, fresh_reference, evaluations, metrics, kept,
                            z_dim)


def rank_correlation(x, y):
    """Spearman's rank correlation; NaN (not a warning) when either series is constant, as
    recall is while G is still far from the data."""
    if np.ptp(np.asarray(x, dtype=float)) == 0 or np.ptp(np.asarray(y, dtype=float)) == 0:
        return float("nan")
    return float(scipy.stats.spearmanr(x, y)[0])


def window_means(metrics, evaluations, name):
    """The mean of metrics[name] over the logged steps since the evaluation before (each
    evaluation after step 0)."""
    steps, values = np.array(metrics["step"]), np.array(metrics[name])
    means = []
    for before, now in zip(evaluations[:-1], evaluations[1:]):
        inside = (steps > before["step"]) & (steps <= now["step"])
        means.append(values[inside].mean() if inside.any() else np.nan)
    return np.array(means)


def analyse_stopping(args, run, G, network, fresh_reference, evaluations, metrics, kept, z_dim):
    results = {}
    later = evaluations[1:]                            # step 0 has no losses before it
    fids = np.array([e["fid"] for e in later])
    recalls = np.array([e["recall"] for e in later])
    # Over the whole run everything trends together; the second half, where FID goes up and
    # down, asks the question of stopping: do the losses follow FID's moves there?
    half = len(later) // 2
    correlations = {}
    steps = np.array([e["step"] for e in later])
    for name in ("loss_d", "loss_g", "grad_norm_g", "d_real", "d_fake", "step"):
        means = steps if name == "step" else window_means(metrics, evaluations, name)
        correlations[name] = (rank_correlation(means, fids), rank_correlation(means, recalls),
                              rank_correlation(means[half:], fids[half:]))
    for name, (with_fid, with_recall, late) in correlations.items():
        results[f"stopping: Spearman({name}, FID)"] = round(float(with_fid), 3)
        results[f"stopping: Spearman({name}, recall)"] = round(float(with_recall), 3)
        results[f"stopping: Spearman({name}, FID), second half"] = round(float(late), 3)
    best = min(evaluations, key=lambda e: e["fid"])
    last = evaluations[-1]
    # The kept weights of a resumed run cover only the evaluations since the resume.
    fresh = {}
    for name, evaluation in (("best", best), ("last", last)):
        if evaluation["step"] not in kept:
            continue
        G.load_state_dict(kept[evaluation["step"]])
        with own_random_stream(args.seed + 10_000 + evaluation["step"]):
            images = generate(G, args.fid_samples, z_dim)
        fresh[name] = fid(features.predict(network, images)[0], fresh_reference)
    results.update({"stopping: best-FID step": best["step"], "stopping: last step": last["step"],
                    "stopping: FID at the best step (selection images)": round(best["fid"], 2),
                    "stopping: FID at the last step (selection images)": round(last["fid"], 2)})
    for name in fresh:
        results[f"stopping: FID of the {name} step's G, fresh samples and images"] = \
            round(fresh[name], 2)
    run.savefig(plot_stopping(metrics, evaluations, correlations), "losses_are_not_progress",
                "losses, D's outputs and G's gradient norm against FID and recall over one run")
    rows = [f"| {name} | {c[0]:+.2f} | {c[1]:+.2f} | {c[2]:+.2f} |"
            for name, c in correlations.items()]
    table = "\n".join([f"| along the run | Spearman with FID | with recall | with FID, steps "
                       f"{later[half]['step']}-{later[-1]['step']} |",
                       "| --- | --- | --- | --- |"] + rows)
    return results, table


def plot_stopping(metrics, evaluations, correlations):
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(1, 3, figsize=(16, 4))
    axes[0].plot(metrics["step"], metrics["loss_d"], label="D loss", alpha=0.8, linewidth=0.8)
    axes[0].plot(metrics["step"], metrics["loss_g"], label="G loss", alpha=0.8, linewidth=0.8)
    axes[0].set_title(f"losses (Spearman with FID: D {correlations['loss_d'][0]:+.2f}, "
                      f"G {correlations['loss_g'][0]:+.2f})", fontsize=10)
    axes[1].plot(metrics["step"], metrics["d_real"], label="D(x), real", linewidth=0.8)
    axes[1].plot(metrics["step"], metrics["d_fake"], label="D(G(z)), generated", linewidth=0.8)
    axes[1].plot(metrics["step"], np.array(metrics["grad_norm_g"]) /
                 max(metrics["grad_norm_g"]), label="|grad G| / max", linewidth=0.8)
    axes[1].set_title("D's mean probabilities, G's gradient norm", fontsize=10)
    steps = [e["step"] for e in evaluations]
    fids = [e["fid"] for e in evaluations]
    best = int(np.argmin(fids))
    axes[2].plot(steps, fids, marker="o", label="FID (selection images)")
    axes[2].plot(steps[best], fids[best], "r*", markersize=14, label=f"best, step {steps[best]}")
    axes[2].set_yscale("log")
    twin = axes[2].twinx()
    twin.plot(steps, [e["recall"] for e in evaluations], color="tab:green", marker=".",
              label="recall")
    twin.set_ylabel("recall", color="tab:green")
    axes[2].set_title("FID (log) and recall over training", fontsize=10)
    return plots.over_training(figure, axes)


# %%
def add_arguments(parser):
    count = experiment.whole_number(1)
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS),
                        help="which parts to run (default all)")
    parser.add_argument("--dirac-steps", type=experiment.whole_number(10), default=None,
                        help="steps of each Dirac-GAN rate run (default 600)")
    parser.add_argument("--ring-seeds", type=count, default=None,
                        help="seeds per ring configuration (default 8, quick 4)")
    parser.add_argument("--ring-budget", type=experiment.whole_number(6), default=None,
                        help="gradient evaluations per ring configuration (default 4000, "
                             "quick 1500)")
    parser.add_argument("--image-seeds", type=count, default=None,
                        help="seeds per Fashion-MNIST configuration (default 3, quick 2)")
    parser.add_argument("--image-budget", type=experiment.whole_number(6), default=None,
                        help="gradient evaluations per Fashion-MNIST configuration (default "
                             "3000, quick 600)")


def fill_in(args):
    quick = args.quick
    args.dirac_steps = args.dirac_steps or 600
    args.ring_seeds = args.ring_seeds or (4 if quick else 8)
    args.ring_budget = args.ring_budget or (1500 if quick else 4000)
    args.image_seeds = args.image_seeds or (2 if quick else 3)
    args.image_budget = args.image_budget or (600 if quick else 3000)


def main(argv=None):
    args = experiment.parse_args(
        "14_training_dynamics", argv, steps=8000, quick_steps=400, add_arguments=add_arguments,
        image_training=experiment.ImageTraining(evaluations=20, fid_samples=1000,
                                                quick_fid_samples=300, quick_evaluations=8),
        description="Chapter 14: training dynamics")
    fill_in(args)
    run = experiment.Run("14_training_dynamics", args, title="Chapter 14: training dynamics")
    results, notes = {}, []
    if "dirac" in args.parts:
        started = time.perf_counter()
        part, table = dirac_part(args.dirac_steps, 1000, run)
        results.update(part)
        results["dirac: seconds"] = round(time.perf_counter() - started, 1)
        print(f"Dirac-GAN: {results['dirac: seconds']} s\n{table}", flush=True)
        notes.append(f"Dirac-GAN, h = {DIRAC_LR}, {args.dirac_steps} steps from (1e-3, 0):"
                     f"\n\n{table}")
    if "ring" in args.parts:
        part, table = ring_part(args, run)
        results.update(part)
        notes.append(f"Ring of 8 Gaussians, {args.ring_budget} gradient evaluations per "
                     f"configuration, {args.ring_seeds} seeds (mean ± standard error):\n\n{table}")
    if {"images", "stopping"} & set(args.parts):
        network, accuracy = features.load_feature_classifier("fashion-mnist",
                                                             cache_root=args.feature_cache)
        test_images, _ = data.load("fashion-mnist", "test")
        n = args.fid_samples
        reference = features.predict(network, test_images[:n])[0]
        fresh_reference = features.predict(network, test_images[n:2 * n])[0]
        train_images, _ = data.load("fashion-mnist", "train")
        results["feature network test accuracy"] = round(accuracy, 4)
    if "images" in args.parts:
        part, table = image_part(args, run, network, reference, train_images)
        results.update(part)
        notes.append(f"Fashion-MNIST, MLP GAN, {args.image_budget} gradient evaluations per "
                     f"configuration, {args.image_seeds} seeds, FID on {n} samples (mean ± "
                     f"standard error):\n\n{table}")
    if "stopping" in args.parts:
        outcome = stopping_part(args, run, network, reference, fresh_reference, train_images)
        if outcome is None:
            return run.already_finished(args.steps)
        part, table = outcome
        results.update(part)
        notes.append(f"One MLP GAN run, {args.steps} steps, evaluated every "
                     f"{args.evaluate_every} steps on {n} samples:\n\n{table}")
    run.finish(results, notes="\n\n".join(notes) + "\n\nFID is on minigan's own feature "
                              "network, not Inception's: comparable only within minigan.")
    return results


if __name__ == "__main__":
    experiment.command_line(main)
