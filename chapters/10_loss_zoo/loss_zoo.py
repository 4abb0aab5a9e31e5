# %% [markdown]
# # Chapter 10: the loss zoo on images
#
# Chapters 02 to 09 met five ways of scoring the game. Here they race: the same
# DCGAN-shaped generator on Fashion-MNIST, trained with
#
# | name | D (or critic) minimises | G minimises | D's normalisation | optimizer | n_critic |
# | --- | --- | --- | --- | --- | --- |
# | `nonsaturating` | -E log D(x) - E log(1 - D(G(z))) | -E log D(G(z)) | batch norm | Adam 2e-4, (0.5, 0.999) | 1 |
# | `lsgan` | 1/2 E (D(x) - 1)^2 + 1/2 E D(G(z))^2 | 1/2 E (D(G(z)) - 1)^2 | batch norm | Adam 2e-4, (0.5, 0.999) | 1 |
# | `hinge_sn` | E max(0, 1 - D(x)) + E max(0, 1 + D(G(z))) | -E D(G(z)) | spectral norm | Adam 2e-4, (0.5, 0.999) | 1 |
# | `wgan_clip` | -E f(x) + E f(G(z)), weights clipped to +-0.01 | -E f(G(z)) | batch norm | RMSprop 5e-5 | 5 |
# | `wgan_gp` | -E f(x) + E f(G(z)) + 10 E (norm grad f(x_hat) - 1)^2 | -E f(G(z)) | layer norm | Adam 1e-4, (0.5, 0.9) | 5 |
#
# (D(x) here is the network's raw output, not a probability, except in the first row,
# where D = sigmoid of it.) The generator is chapter 06's; the discriminator is
# chapter 06's with its middle batch norm swapped for what each method needs:
# spectral normalisation of every layer for SNGAN (Miyato et al. 2018), layer
# norm for WGAN-GP, whose penalty treats each example on its own and so cannot
# pass through batch norm (Gulrajani et al. 2017). LSGAN (Mao et al. 2017) uses the
# 0-1 coding a = 0, b = 1, c = 1 and otherwise exactly the non-saturating run's
# setup, so those two differ only in the loss.
#
# **Equal budget, not equal steps.** A WGAN generator step costs five critic steps,
# and WGAN-GP's critic step a double backward on top. So every run gets the same
# compute budget, in seconds, and FID is measured at the same moments of it. The
# clock is each run's CPU time, one core per run (`OPENBLAS_NUM_THREADS=1`), two
# runs at a time on a 2-core machine: for a one-thread process on its own core
# that is its wall time, and unlike wall time it does not count the moments
# another program on the machine took the core. Evaluation is not on the clock.
#
# **And at equal generator steps.** The budget answers "which loss should I use if
# compute is what I have?"; it does not say which loss gives G the better gradient,
# step for step. So every run also measures FID at one generator step S
# (`--equal-g-steps`, default 100): on the way if the budget takes it past S, and
# otherwise by training on after the budget ends, until S. Those extra steps count
# for nothing in the equal-budget figures, which are all taken before them.
#
# Run: `python chapters/10_loss_zoo/loss_zoo.py`
# (5 methods x 3 seeds x 90 s, about 15 minutes on two cores; `--quick` for a first
# look; `--budget 600` for a longer race; `--resume --out DIR` keeps the runs a
# killed race had finished and redoes only the others).

# %%
import json
import os
import pathlib
import subprocess
import sys
import time

import numpy as np

import minigan
from minigan import backend, data, experiment, models, nn, plots
from minigan.checkpoint import save_checkpoint
from minigan.gan import losses
from minigan.gan.penalties import gradient_penalty
from minigan.metrics import features
from minigan.metrics.fid import fid
from minigan.nn.utils import SpectralNorm, operator_norm, spectral_norm, weight_matrix
from minigan.progress import Progress
from minigan.training import TrainingDiverged, evaluating, generate

# %% [markdown]
# ## The five methods
#
# Each is a loss pair from `minigan.gan.losses.LOSSES`, the discriminator's
# normalisation, the optimizer, and how many discriminator steps come before each
# generator step. Each discriminator step sees a new batch of real images.

# %%
METHODS = {
    "nonsaturating": {"loss": "nonsaturating", "norm": "batch", "optimizer": "adam",
                      "lr": 2e-4, "betas": (0.5, 0.999), "n_critic": 1},
    "lsgan": {"loss": "least_squares", "norm": "batch", "optimizer": "adam",
              "lr": 2e-4, "betas": (0.5, 0.999), "n_critic": 1},
    "hinge_sn": {"loss": "hinge", "norm": "spectral", "optimizer": "adam",
                 "lr": 2e-4, "betas": (0.5, 0.999), "n_critic": 1},
    "wgan_clip": {"loss": "wasserstein", "norm": "batch", "optimizer": "rmsprop",
                  "lr": 5e-5, "n_critic": 5, "clip": 0.01},
    "wgan_gp": {"loss": "wasserstein", "norm": "layer", "optimizer": "adam",
                "lr": 1e-4, "betas": (0.5, 0.9), "n_critic": 5, "gp_weight": 10.0},
}


def make_discriminator(norm, width=64):
    """Chapter 06's discriminator with ``norm`` in its middle layer:

        Conv(1, w, 4, 2, 1) + LReLU -> Conv(w, 2w, 4, 2, 1) + [norm] + LReLU -> Linear(2w*7*7, 1)

    "batch": BatchNorm2d(2w) (DCGAN); "layer": LayerNorm over each image's (2w, 7, 7);
    "spectral": no norm layer, but every weight divided by its spectral norm (SNGAN).
    """
    sn = spectral_norm if norm == "spectral" else (lambda layer: layer)
    middle = {"batch": [nn.BatchNorm2d(2 * width)],
              "layer": [nn.LayerNorm((2 * width, 7, 7))],
              "spectral": []}[norm]
    layers = [nn.Conv2d(1, width, 4, 2, 1), nn.Conv2d(width, 2 * width, 4, 2, 1),
              nn.Linear(2 * width * 7 * 7, 1)]
    for layer in layers:
        layer.apply(models.dcgan_init_)       # before wrapping: the wrapper has no weight itself
    return nn.Sequential(sn(layers[0]), nn.LeakyReLU(0.2), sn(layers[1]), *middle,
                         nn.LeakyReLU(0.2), nn.Flatten(), sn(layers[2]))


def make_optimizer(method, parameters):
    if method["optimizer"] == "rmsprop":
        return minigan.optim.RMSprop(parameters, lr=method["lr"])
    return minigan.optim.Adam(parameters, lr=method["lr"], betas=method["betas"])


# %% [markdown]
# ## One generator step of each method
#
# `n_critic` steps of the discriminator, each on a fresh real batch, then one of
# the generator. WGAN clips the critic's weights after each of its steps; WGAN-GP
# adds the penalty, whose gradient in the critic's weights is a gradient of a
# gradient (`minigan.grad(..., create_graph=True)` inside `gradient_penalty`).


# %%
def train_step(method, G, D, opt_g, opt_d, real_batches, batch_size, z_dim):
    d_loss_fn, g_loss_fn = losses.LOSSES[method["loss"]]
    for _ in range(method["n_critic"]):
        real = next(real_batches)
        fake = G(minigan.randn(batch_size, z_dim)).detach()
        loss_d = d_loss_fn(D(real), D(fake))
        if "gp_weight" in method:
            loss_d = loss_d + gradient_penalty(D, real, fake, weight=method["gp_weight"])
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        if "clip" in method:
            minigan.optim.clip_weights_(D.parameters(), method["clip"])
    loss_g = g_loss_fn(D(G(minigan.randn(batch_size, z_dim))))
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    return loss_d.item(), loss_g.item()


def endless(batches):
    while True:
        yield from batches        # each pass draws a new order from (seed, pass number)


# %% [markdown]
# ## Measuring
#
# FID, precision and recall against the test images on minigan's feature network
# (chapter 05), from `--fid-samples` generated images with G in evaluation mode.
# And three checks of the theory on the trained discriminators, one per method that
# makes a promise about its D:
#
# * **spectral norm**: each layer's W / sigma(W), with sigma from one power step per
#   forward, should have largest singular value 1: we take the SVD of the
#   normalised (out, in*k*k) matrices and report the worst distance from 1. That
#   number is what spectral normalisation controls, and it is *not* the layer's
#   Lipschitz constant: a 4x4 convolution at stride 2 copies each pixel into up to 4
#   receptive fields, and as a map of whole images it can stretch distances by up to
#   2 sigma(W reshaped). So we also measure each layer's true operator norm at the
#   image size it sees (`minigan.nn.utils.operator_norm`, the power method on the
#   layer and its adjoint), and their product, which bounds D's Lipschitz constant
#   (LeakyReLU's slopes are at most 1);
# * **weight clipping**: every critic weight lies in [-c, c], and (chapter 09) many
#   sit at the bound: the share within 1% of +-c;
# * **gradient penalty**: the critic's gradient norm at interpolates x_hat, which
#   the penalty pulls towards 1: its median.


# %%
def measure(network, G, reference, n, z_dim):
    return features.image_scores(network, generate(G, n, z_dim), reference)


def spectral_norm_error(D):
    """max over D's spectrally normalised layers of |sigma_max(W / sigma) - 1|, by SVD."""
    errors = []
    for layer in D.modules():
        if isinstance(layer, SpectralNorm):
            matrix = weight_matrix(layer.normalized_weight().numpy(), layer.dim)
            errors.append(abs(float(np.linalg.svd(matrix, compute_uv=False)[0]) - 1))
    return max(errors)


def operator_norms(D, image_shape=(1, 28, 28)):
    """Each spectrally normalised layer's operator norm, at the input size it has in D."""
    norms, x = [], minigan.zeros((1,) + image_shape)
    with evaluating(D):
        for layer in D:
            if isinstance(layer, SpectralNorm):
                norms.append(operator_norm(layer, x.shape[1:]))
            x = layer(x)
    return norms


def clipped_share(D, c):
    """(max |w| over D's parameters, share of them within 1% of +-c: abs(abs(w) - c) <= c / 100)."""
    weights = np.abs(np.concatenate([p.numpy().ravel() for p in D.parameters()]))
    return float(weights.max()), float(np.mean(np.abs(weights - c) <= 0.01 * c))


def interpolate_gradient_norms(D, real, fake):
    """||grad f(x_hat)|| at x_hat = eps x + (1 - eps) x_g, one eps ~ U[0, 1] per pair."""
    eps = minigan.rand(real.shape[0], 1, 1, 1)
    x_hat = (eps * real + (1 - eps) * fake).detach().requires_grad_()
    (gradient,) = minigan.grad(D(x_hat).sum(), x_hat)
    return np.sqrt((gradient.numpy() ** 2).reshape(len(gradient.numpy()), -1).sum(axis=1))


def check_theory(name, method, G, D, images, z_dim, n=256):
    """The check of the theory that ``method`` makes a promise about, as a dict."""
    if method["norm"] == "spectral":
        norms = operator_norms(D)
        return {"largest singular value error": spectral_norm_error(D),
                "largest layer operator norm": max(norms),
                "product of layer operator norms": float(np.prod(norms))}
    if "clip" in method:
        largest, share = clipped_share(D, method["clip"])
        return {"largest absolute weight": largest, "share of weights at +-c": share}
    if "gp_weight" in method:
        real = minigan.tensor(images[:n])
        with evaluating(G):
            fake = G(minigan.randn(n, z_dim)).detach()
        return {"median gradient norm at interpolates":
                float(np.median(interpolate_gradient_norms(D, real, fake)))}
    return {}


# %% [markdown]
# ## One run: a method, a seed and a budget
#
# The run trains until its clock reaches each of the evaluation moments in turn
# (a quarter of the budget, a half, ...), measures there, and goes on; the last
# generator step may overrun a moment by at most one step's time. At the end of the
# budget it checks the theory and keeps its generator (a checkpoint `python -m
# minigan sample` reads) and a grid of samples of a fixed z, shared by every method
# of one seed. Then, if it has not yet made `equal_g_steps` generator steps, it trains
# on, still on its clock, until it has. Whenever its step count reaches
# `equal_g_steps`, within the budget or after it, it measures FID there, off the
# clock, with the random stream put back afterwards: training goes on exactly as
# it would have without the measurement.


# %%
def train_one(name, seed, budget, moments, out, fid_samples, feature_cache, equal_g_steps,
              batch_size=64, z_dim=100):
    method = METHODS[name]
    network, _ = features.load_feature_classifier("fashion-mnist", cache_root=feature_cache,
                                                  progress=False)
    reference = np.load(out / "reference_features.npy")
    train_images, _ = data.load("fashion-mnist", "train")
    held_out = train_images[-fid_samples:]           # for the checks, never trained on
    train_images = train_images[:-fid_samples]

    minigan.manual_seed(seed)
    fixed_z = minigan.randn(36, z_dim)
    spec = models.generator_spec(models.dcgan28_generator, z_dim=z_dim)
    G, D = models.build(spec), make_discriminator(method["norm"])
    opt_g, opt_d = make_optimizer(method, G.parameters()), make_optimizer(method, D.parameters())
    real_batches = endless(data.Batches(train_images, batch_size=batch_size, seed=seed))

    state = backend.get_rng_state()    # the check draws samples; training's draws stay as they were
    theory_at_start = check_theory(name, method, G, D, held_out, z_dim)
    backend.set_rng_state(state)
    evaluations = [{"seconds": 0.0, "generator_steps": 0,
                    **measure(network, G, reference, fid_samples, z_dim)}]
    clock, steps, loss_d, loss_g, at_equal_g_steps = 0.0, 0, None, None, None

    def step():
        """One generator step on the clock, and at step ``equal_g_steps`` a measurement off it."""
        nonlocal clock, steps, at_equal_g_steps, loss_d, loss_g
        start = time.process_time()
        loss_d, loss_g = train_step(method, G, D, opt_g, opt_d, real_batches, batch_size, z_dim)
        clock += time.process_time() - start
        steps += 1
        if not (np.isfinite(loss_d) and np.isfinite(loss_g)):
            raise TrainingDiverged(f"{name} seed {seed} diverged at generator step {steps}: "
                                   f"loss_d = {loss_d}, loss_g = {loss_g}")
        if steps == equal_g_steps:
            state = backend.get_rng_state()     # measuring draws z; training's draws stay
            at_equal_g_steps = {"seconds": clock, "generator_steps": steps,
                                **measure(network, G, reference, fid_samples, z_dim)}
            backend.set_rng_state(state)

    progress = Progress(len(moments), desc=f"{name} seed {seed}")
    for moment in moments:
        while clock < moment:
            step()
        evaluations.append({"seconds": clock, "generator_steps": steps, "loss_d": loss_d,
                            "loss_g": loss_g, **measure(network, G, reference, fid_samples,
                                                        z_dim)})
        progress.update(fid=evaluations[-1]["fid"], steps=steps)
    progress.close()

    # The end of the budget: everything the equal-budget race reports is taken here.
    with evaluating(G):
        grid = G(fixed_z).numpy()
    result = {"method": name, "seed": seed, "budget": budget, "evaluations": evaluations,
              "discriminator_steps": steps * method["n_critic"],
              "seconds_per_generator_step": clock / max(steps, 1),
              "theory_at_start": theory_at_start,
              "theory": check_theory(name, method, G, D, held_out, z_dim)}
    stem = out / "runs" / f"{name}-seed{seed}"
    save_checkpoint(stem.with_suffix(".ckpt"), step=steps, spec=spec, G=G.state_dict(),
                    D=D.state_dict())
    np.save(stem.with_suffix(".grid.npy"), grid)

    within_the_budget = steps >= equal_g_steps
    while steps < equal_g_steps:        # past the budget, for the equal-steps comparison only
        step()
    result["at_equal_generator_steps"] = {**at_equal_g_steps,
                                          "within_the_budget": within_the_budget}
    stem.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    return result


# %% [markdown]
# ## The race
#
# Every (method, seed) run is its own process: `--workers` of them at a time, each
# with one BLAS thread, so that each has a core of its own and its CPU time is the
# wall time it needs. A run that finished left its `runs/<method>-seed<k>.json`;
# `--resume` keeps those.


# %%
def race(script, args, out, moments):
    todo = [(name, seed) for seed in args.seeds for name in args.methods
            if not (args.resume and (out / "runs" / f"{name}-seed{seed}.json").exists())]
    environment = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
                       MKL_NUM_THREADS="1", MPLBACKEND="Agg")
    # A device known to this process alone (the tests' strict stand-in for a GPU) does not
    # exist in the runs it starts: they compute on the CPU then.
    child_device = args.device if args.device in ("cpu", "cuda") else "cpu"
    progress, running = Progress(len(todo), desc="runs"), []
    while todo or running:
        while todo and len(running) < args.workers:
            name, seed = todo.pop(0)
            log = open(out / "runs" / f"{name}-seed{seed}.log", "w")
            command = [sys.executable, str(script), "--one", name, "--seed", str(seed),
                       "--budget", str(args.budget), "--moments", *map(str, moments),
                       "--fid-samples", str(args.fid_samples), "--out", str(out),
                       "--equal-g-steps", str(args.equal_g_steps),
                       "--device", child_device, "--threads", "1"]
            if args.feature_cache:
                command += ["--feature-cache", str(args.feature_cache)]
            running.append((name, seed, log, subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=environment)))
        time.sleep(0.5)
        for job in [job for job in running if job[3].poll() is not None]:
            name, seed, log, process = job
            running.remove(job)
            log.close()
            if process.returncode != 0:
                for _, _, other_log, other in running:
                    other.kill()
                    other_log.close()
                raise experiment.UsageError(f"the run {name} seed {seed} failed (exit code "
                                            f"{process.returncode}); its output is in {log.name}")
            progress.update(last=f"{name} seed {seed}")
    progress.close()
    return {(r["method"], r["seed"]): r for r in
            (json.loads((out / "runs" / f"{name}-seed{seed}.json").read_text())
             for seed in args.seeds for name in args.methods)}


# %% [markdown]
# ## The table and the figures
#
# For each method: the mean FID over the seeds at the end of the budget, with its
# spread (standard deviation over seeds), precision and recall, the generator
# steps the budget bought, and the theory check. The figure puts FID against the
# seconds spent, a line for the mean and a band from the best to the worst seed.
# A second table holds the same scores at the equal generator step, with the CPU
# seconds each method needed to get there.


# %%
def summarise(results, methods, seeds, equal_g_steps):
    table = {}
    for name in methods:
        finals = [results[name, seed]["evaluations"][-1] for seed in seeds]
        fids = np.array([f["fid"] for f in finals])
        row = {"fid": float(fids.mean()), "fid_spread": float(fids.std()),
               "precision": float(np.mean([f["precision"] for f in finals])),
               "recall": float(np.mean([f["recall"] for f in finals])),
               "generator_steps": float(np.mean([f["generator_steps"] for f in finals])),
               "seconds_per_generator_step": float(np.mean(
                   [results[name, seed]["seconds_per_generator_step"] for seed in seeds]))}
        row.update(summarise_equal_steps(results, name, seeds, equal_g_steps))
        for when, suffix in (("theory_at_start", " at the start"), ("theory", "")):
            for key in results[name, seeds[0]][when]:
                row[key + suffix] = float(np.mean([results[name, seed][when][key]
                                                   for seed in seeds]))
        table[name] = row
    return table


def summarise_equal_steps(results, name, seeds, equal_g_steps):
    """One method's scores at generator step ``equal_g_steps``, over the seeds.

    Refuses runs measured at another step, or not at all (a --resume with another
    --equal-g-steps, or of runs made before it existed): the comparison is only fair if
    every run was measured at the same step."""
    measured = [results[name, seed].get("at_equal_generator_steps") for seed in seeds]
    for seed, at in zip(seeds, measured):
        step = at["generator_steps"] if at else None
        if step != equal_g_steps:
            raise experiment.UsageError(
                f"the run {name} seed {seed} was measured at generator step {step}, not at "
                f"--equal-g-steps {equal_g_steps}; run it again without --resume")
    fids = np.array([at["fid"] for at in measured])
    return {"fid at equal generator steps": float(fids.mean()),
            "fid_spread at equal generator steps": float(fids.std()),
            "precision at equal generator steps": float(np.mean([at["precision"]
                                                                 for at in measured])),
            "recall at equal generator steps": float(np.mean([at["recall"] for at in measured])),
            "generator_steps at equal generator steps": float(np.mean(
                [at["generator_steps"] for at in measured])),
            "seconds to equal generator steps": float(np.mean([at["seconds"]
                                                               for at in measured]))}


def describe_check(row):
    """The theory check of one method's row, at the start -> at the end, in words."""
    def change(key, form):
        return f"{row[key + ' at the start']:{form}} -> {row[key]:{form}}"
    if "largest singular value error" in row:
        return (f"max over layers of abs(sigma_max - 1) (reshaped weights): "
                f"{change('largest singular value error', '.3f')}; largest operator norm "
                f"of a layer: {change('largest layer operator norm', '.3f')}; their product "
                f"(bounds D's Lipschitz constant): "
                f"{change('product of layer operator norms', '.2f')}")
    if "share of weights at +-c" in row:
        return (f"max abs(w): {change('largest absolute weight', '.3g')}; "
                f"share at +-c: {change('share of weights at +-c', '.0%')}")
    if "median gradient norm at interpolates" in row:
        return (f"median norm of grad f at x_hat: "
                f"{change('median gradient norm at interpolates', '.2f')}")
    return ""


def markdown_table(table, seeds):
    spread = f"mean ± sd over {len(seeds)} seeds" if len(seeds) > 1 else f"seed {seeds[0]}"
    lines = [f"| method | FID ({spread}) | precision | recall | generator steps | "
             f"s per G step | theory check |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, row in sorted(table.items(), key=lambda item: item[1]["fid"]):
        lines.append(f"| {name} | {row['fid']:.1f} ± {row['fid_spread']:.1f} | "
                     f"{row['precision']:.2f} | {row['recall']:.2f} | "
                     f"{row['generator_steps']:.0f} | {row['seconds_per_generator_step']:.3f} | "
                     f"{describe_check(row)} |")
    return "\n".join(lines)


def markdown_table_equal_steps(table, seeds, equal_g_steps):
    """The scores of every method at generator step ``equal_g_steps``, best FID first."""
    spread = f"mean ± sd over {len(seeds)} seeds" if len(seeds) > 1 else f"seed {seeds[0]}"
    lines = [f"| method | FID at generator step {equal_g_steps} ({spread}) | precision | "
             f"recall | CPU seconds to get there |", "| --- | --- | --- | --- | --- |"]
    for name, row in sorted(table.items(),
                            key=lambda item: item[1]["fid at equal generator steps"]):
        lines.append(f"| {name} | {row['fid at equal generator steps']:.1f} ± "
                     f"{row['fid_spread at equal generator steps']:.1f} | "
                     f"{row['precision at equal generator steps']:.2f} | "
                     f"{row['recall at equal generator steps']:.2f} | "
                     f"{row['seconds to equal generator steps']:.1f} |")
    return "\n".join(lines)


def plot_fid_over_time(results, methods, seeds, floor):
    import matplotlib.pyplot as plt
    figure, axis = plt.subplots(figsize=(7.5, 4.5))
    for name in methods:
        curves = np.array([[e["fid"] for e in results[name, seed]["evaluations"]]
                           for seed in seeds])
        seconds = np.mean([[e["seconds"] for e in results[name, seed]["evaluations"]]
                           for seed in seeds], axis=0)
        line, = axis.plot(seconds, curves.mean(axis=0), marker="o", label=name)
        axis.fill_between(seconds, curves.min(axis=0), curves.max(axis=0),
                          color=line.get_color(), alpha=0.2)
    axis.axhline(floor, color="gray", linestyle=":", label="held-out real images")
    axis.set_yscale("log")
    axis.set_xlabel("training seconds (CPU time of one core)")
    axis.set_ylabel("FID to the test images (own features)")
    axis.set_title(f"FID against compute: mean and best-to-worst of {len(seeds)} seeds"
                   if len(seeds) > 1 else f"FID against compute (seed {seeds[0]})")
    axis.legend(fontsize=8)
    figure.tight_layout()
    return figure


def plot_samples(out, methods, seed):
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(1, len(methods), figsize=(3.0 * len(methods), 3.4))
    for axis, name in zip(np.atleast_1d(axes), methods):
        grid = np.load(out / "runs" / f"{name}-seed{seed}.grid.npy")
        plots.show_grid(axis, grid, title=name, columns=6)
    figure.suptitle(f"One fixed z for every method (seed {seed}), at the end of the budget")
    return figure


# %%
def add_arguments(parser):
    parser.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS))
    parser.add_argument("--seeds", type=experiment.whole_number(0), nargs="+", default=None,
                        help="the seeds to race (default 0 1 2; quick: 0)")
    parser.add_argument("--budget", type=experiment.number(above=0), default=None,
                        help="CPU seconds of training per run (default 90, quick 12)")
    parser.add_argument("--evaluations", type=experiment.whole_number(1), default=4,
                        help="FID at this many equally spaced moments of the budget")
    # FID's reference is the first N test images, of 10,000; precision and recall need more
    # than k = 3 images.
    parser.add_argument("--fid-samples", type=experiment.whole_number(4, 10_000), default=None,
                        help="images per FID, 4 to 10000 (default 2000, quick 500)")
    # Default 100: the three one-D-step methods pass it within the default budget (about
    # 300 steps), WGAN with clipping too (about 117), and WGAN-GP (about 71) trains on for
    # some 30 steps more.
    parser.add_argument("--equal-g-steps", type=experiment.whole_number(1), default=None,
                        help="also measure every run at this generator step, training on "
                             "past the budget where needed (default 100, quick 20)")
    parser.add_argument("--workers", type=experiment.whole_number(1), default=2,
                        help="runs at a time (one core each)")
    parser.add_argument("--resume", action="store_true",
                        help="keep the finished runs in --out and do only the others")
    parser.add_argument("--feature-cache", default=None,
                        help="folder of the cached feature network (default runs/)")
    parser.add_argument("--one", choices=list(METHODS), default=None,
                        help="(internal) train only this method with --seed and exit")
    parser.add_argument("--moments", type=experiment.number(above=0), nargs="+", default=None,
                        help="(internal, with --one) the evaluation moments in seconds")


def main(argv=None):
    args = experiment.parse_args("10_loss_zoo", argv, steps=0, quick_steps=0,
                                 add_arguments=add_arguments,
                                 description="Chapter 10: the loss zoo on images")
    args.budget = args.budget or (12.0 if args.quick else 90.0)
    args.fid_samples = args.fid_samples or (500 if args.quick else 2000)
    args.seeds = args.seeds or ([0] if args.quick else [0, 1, 2])
    args.equal_g_steps = args.equal_g_steps or (20 if args.quick else 100)
    if args.one:       # one run, in a process of its own (started by race below)
        return train_one(args.one, args.seed, args.budget, args.moments, args.out,
                         args.fid_samples, args.feature_cache, args.equal_g_steps)

    run = experiment.Run("10_loss_zoo", args, title="Chapter 10: the loss zoo on images")
    (run.dir / "runs").mkdir(exist_ok=True)
    network, accuracy = features.load_feature_classifier("fashion-mnist",
                                                         cache_root=args.feature_cache)
    test_images, _ = data.load("fashion-mnist", "test")
    train_images, _ = data.load("fashion-mnist", "train")
    reference = features.predict(network, test_images[:args.fid_samples])[0]
    np.save(run.dir / "reference_features.npy", reference)
    floor = fid(features.predict(network, train_images[-args.fid_samples:])[0], reference)
    moments = [args.budget * (i + 1) / args.evaluations for i in range(args.evaluations)]

    start = time.perf_counter()
    results = race(pathlib.Path(__file__).resolve(), args, run.dir, moments)
    wall = time.perf_counter() - start
    table = summarise(results, args.methods, args.seeds, args.equal_g_steps)
    for (name, seed), result in sorted(results.items()):
        for e in result["evaluations"]:
            run.log(method=name, seed=seed, seconds=e["seconds"],
                    generator_steps=e["generator_steps"], fid=e["fid"],
                    precision=e["precision"], recall=e["recall"])

    run.savefig(plot_fid_over_time(results, args.methods, args.seeds, floor), "fid_over_time",
                "FID against training seconds for each method")
    run.savefig(plot_samples(run.dir, args.methods, args.seeds[0]), "samples",
                "samples of each method at the end of the budget")
    summary = {"feature network test accuracy": round(accuracy, 4),
               "FID of held-out real images (the floor)": round(floor, 2),
               "budget per run (CPU seconds)": args.budget,
               "equal generator steps (the second comparison)": args.equal_g_steps,
               "seeds": len(args.seeds),
               "images per FID": args.fid_samples}
    for name, row in table.items():
        for key, value in row.items():
            summary[f"{name}: {key.replace('_', ' ')}"] = round(value, 4)
    summary["race wall seconds"] = round(wall, 1)
    notes = (f"**At an equal budget** ({args.budget:g} CPU seconds per run):\n\n"
             f"{markdown_table(table, args.seeds)}\n\n"
             f"**At an equal number of generator steps** ({args.equal_g_steps}; a run that had "
             f"not made them when its budget ended trained on, outside the table above):\n\n"
             f"{markdown_table_equal_steps(table, args.seeds, args.equal_g_steps)}\n\n"
             "FID on minigan's own feature network, comparable only within minigan; one "
             "dataset, one budget.")
    run.finish(summary, notes=notes)
    return summary


if __name__ == "__main__":
    experiment.command_line(main)
