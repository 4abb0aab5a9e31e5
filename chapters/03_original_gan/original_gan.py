# %% [markdown]
# # Chapter 03: the original GAN on images
#
# Goodfellow et al. (2014) trained a generator of 28x28 digits against a
# discriminator, both plain multilayer perceptrons. This chapter rebuilds that
# model as the authors' code defines it and trains it on Fashion-MNIST (or on
# the MNIST test file with `--dataset mnist-test`), then evaluates it with the
# paper's own yardstick, a Parzen-window log-likelihood.
#
# Run: `python chapters/03_original_gan/original_gan.py` (a few minutes on two
# cores; `--quick` for a first look). Data: see data/README.md (set
# MINIGAN_DATA to the folder holding `fashion-mnist/`).

# %%
import argparse
import math

import numpy as np

import minigan
import minigan.nn.functional as F
from minigan import data, experiment, nn, plots
from minigan.gan import losses
from minigan.metrics.parzen import parzen_estimate
from minigan.progress import Progress

# %% [markdown]
# ## The two networks
#
# **Generator**: z (100) ~ U(-sqrt 3, sqrt 3) -> 1200 ReLU -> 1200 ReLU -> 784 sigmoid.
# Weights start uniform in +-0.05; the output bias starts at the logit of each
# pixel's mean value, so the first samples are already the average image.
#
# **Discriminator**: 784 -> maxout 240 x 5 -> maxout 240 x 5 -> 1, with dropout
# (keep 0.8 of the inputs, 0.5 of each hidden layer); weights uniform in +-0.005.
# It returns a logit: sigmoid(logit) is the probability that x is real, and the
# losses take the logit directly (see `minigan.gan.losses`) so that they stay
# exact when D is confident.


# %%
class Generator(nn.Module):
    def __init__(self, pixel_mean):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(100, 1200), nn.ReLU(), nn.Linear(1200, 1200), nn.ReLU(),
                                 nn.Linear(1200, 784), nn.Sigmoid())
        for layer in (self.net[0], self.net[2], self.net[4]):
            nn.init.uniform_(layer.weight, -0.05, 0.05)
            nn.init.zeros_(layer.bias)
        mean = np.clip(pixel_mean, 1e-3, 1 - 1e-3)
        self.net[4].bias.data[...] = minigan.backend.asarray(np.log(mean / (1 - mean)))

    def forward(self, z):
        return self.net(z)


class MaxoutDiscriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.h0, self.h1 = nn.Maxout(784, 240, 5), nn.Maxout(240, 240, 5)
        self.out = nn.Linear(240, 1)
        for layer in (self.h0.linear, self.h1.linear, self.out):
            nn.init.uniform_(layer.weight, -0.005, 0.005)
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        h = self.h0(F.dropout(x, 0.2, self.training))
        h = self.h1(F.dropout(h, 0.5, self.training))
        return self.out(F.dropout(h, 0.5, self.training)).reshape(-1)


def sample_z(n):
    """z ~ U(-sqrt 3, sqrt 3)^100: zero mean and unit variance, as in the authors' code."""
    return (minigan.rand(n, 100) * 2 - 1) * math.sqrt(3)


# %% [markdown]
# ## Training: the minimax game, one step of each player at a time (k = 1)
#
# D ascends log D(x) + log(1 - D(G(z))); G descends -log D(G(z)), the
# *non-saturating* loss (chapter 02 shows why: log(1 - D(G(z))) has no gradient
# when D rejects G's samples, which is exactly the situation at the start).
# Both use SGD on batches of 100 with the paper's schedules:
#
#     learning rate  lr_t = max(0.1 / 1.000004^t, 1e-6)
#     momentum       0.5 at epoch 1, growing linearly to 0.7 at epoch 250


# %%
def schedules(step, epoch):
    lr = max(0.1 / 1.000004 ** step, 1e-6)
    momentum = 0.5 + 0.2 * min(max(epoch - 1, 0) / 249, 1.0)
    return lr, momentum


def train(generator, discriminator, images, steps, seed, run, snapshots):
    """Alternate one D step and one G step; return sample grids at the ``snapshots`` steps.

    metrics.csv gets a row every 25 steps, with the ``seed`` of the run it belongs to.
    """
    opt_d = minigan.optim.SGD(discriminator.parameters(), lr=0.1, momentum=0.5)
    opt_g = minigan.optim.SGD(generator.parameters(), lr=0.1, momentum=0.5)
    batches = data.Batches(images, batch_size=100, seed=seed)
    fixed_z = sample_z(32)
    grids, step = {}, 0
    bar = Progress(steps, desc="train")
    while step < steps:
        for real in batches:
            if step in snapshots:
                with minigan.no_grad():
                    grids[step] = generator(fixed_z).numpy().reshape(-1, 28, 28)
            lr, momentum = schedules(step, 1 + step * 100 / len(images))
            for group in opt_d.param_groups + opt_g.param_groups:
                group["lr"], group["momentum"] = lr, momentum

            fake = generator(sample_z(100))
            real_logits, fake_logits = discriminator(real), discriminator(fake.detach())
            loss_d = losses.discriminator_loss(real_logits, fake_logits)
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()

            loss_g = losses.generator_loss_nonsaturating(discriminator(fake))
            opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()

            step += 1
            d_real = F.sigmoid(real_logits).mean().item()
            d_fake = F.sigmoid(fake_logits).mean().item()
            bar.update(loss_d=loss_d.item(), loss_g=loss_g.item())
            if step % 25 == 0 or step == steps:
                run.log(seed=seed, step=step, loss_d=loss_d.item(), loss_g=loss_g.item(),
                        d_real=d_real, d_fake=d_fake, lr=lr, momentum=momentum)
            if step == steps:
                break
    bar.close()
    with minigan.no_grad():
        grids[steps] = generator(fixed_z).numpy().reshape(-1, 28, 28)
    return grids


# %% [markdown]
# ## Evaluation: the Parzen-window estimate, and its range
#
# Fit a Gaussian kernel density to 10,000 generated samples, choose its width
# sigma from logspace(-1, 0, 10) on 1,000 validation images, and report the mean
# log-likelihood of the test images with its standard error. Beside it, the same
# estimate with *real* training images in place of samples (what a perfect
# generator would score) and with a trivial "generator" (the mean image plus
# per-pixel noise): the three numbers show how much of the scale the GAN covers.


# %%
def evaluate_gan(generator, validation, test, n_samples):
    """The Parzen estimate of the test set under ``n_samples`` samples of ``generator``."""
    generator.eval()
    with minigan.no_grad():
        samples = np.concatenate([generator(sample_z(1000)).numpy()
                                  for _ in range(n_samples // 1000)])
    return parzen_estimate(samples, validation, test)


def evaluate_references(train_images, validation, test, n_samples, seed):
    """The same estimate for real training images and for the mean image plus noise."""
    rng = np.random.default_rng(seed)
    real = train_images[rng.choice(len(train_images), n_samples, replace=False)]
    mean, std = train_images.mean(axis=0), train_images.std(axis=0)
    baseline = np.clip(mean + std * rng.standard_normal((n_samples, 784)), 0, 1)
    return {name: parzen_estimate(s, validation, test)
            for name, s in [("real training images", real), ("mean image + noise", baseline)]}


# %% [markdown]
# ## Over seeds
#
# One trained GAN is one draw: the same recipe with another seed, or with the same seed
# and matrix products summed in another order (another BLAS, another thread count), ends
# in another generator, and its Parzen figure moves by far more than the standard error
# that one run reports (that error is over the test images, with the generator fixed).
# So the chapter trains `--seeds` generators (seeds `--seed`, `--seed` + 1, ...) and
# reports the mean and the spread over them: the lesson below rests on that spread.


# %%
def over_seeds(scores):
    """Mean, sample standard deviation, and the values of the GAN's figure over the seeds."""
    values = [score["mean"] for score in scores]
    spread = float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")
    return {"mean": float(np.mean(values)), "spread": spread, "values": values,
            "standard_error": float(np.mean([score["standard_error"] for score in scores])),
            "sigma": scores[0]["sigma"]}


def load_splits(dataset):
    """Flattened images in [0, 1]: train, validation and test splits."""
    if dataset == "fashion-mnist":
        splits = [data.load("fashion-mnist", s, value_range=(0, 1))[0]
                  for s in ("train", "validation", "test")]
    else:   # only the MNIST test file may be at hand: 8,000 / 1,000 / 1,000
        images = data.load("mnist", "test", value_range=(0, 1))[0]
        splits = [images[:8000], images[8000:9000], images[9000:]]
    return [s.reshape(len(s), -1) for s in splits]


# %%
def plot_samples(grids):
    import matplotlib.pyplot as plt
    steps = sorted(grids)
    figure, axes = plt.subplots(1, len(steps), figsize=(3.2 * len(steps), 3.6))
    for axis, step in zip(np.atleast_1d(axes), steps):
        plots.show_grid(axis, grids[step][:16], title=f"step {step}", columns=4, value_range=(0, 1))
    figure.suptitle("Samples from a fixed z over training")
    return figure


def plot_parzen(scores):
    import matplotlib.pyplot as plt
    figure, axis = plt.subplots(figsize=(6, 3))
    names = list(scores)
    means = [scores[n]["mean"] for n in names]
    # the GAN's bar: its spread over seeds where there are several (else the standard error)
    errors = [scores[n]["spread"] if len(scores[n].get("values", ())) > 1
              else scores[n]["standard_error"] for n in names]
    axis.barh(names, means, xerr=errors, color=["tab:blue", "tab:green", "tab:gray"])
    values = scores["GAN"].get("values", [])
    axis.plot(values, [names.index("GAN")] * len(values), "k.", label="one seed each")
    for i, (m, e) in enumerate(zip(means, errors)):   # the number beyond the bar's error bar
        axis.text(max(m + e, m) if m >= 0 else m - e, i, f" {m:.0f} ",
                  va="center", ha="left" if m >= 0 else "right")
    if len(values) > 1:
        axis.legend(loc="lower right", fontsize="small")
    axis.set_xlabel("Parzen-window log-likelihood of the test images (nats, higher is better)")
    axis.set_title(f"The GAN ({len(values)} seeds) between a perfect and a trivial generator")
    return figure


def thousands(text):
    """--samples: the GAN's samples come in batches of 1000, and the real ones, as many, are
    drawn without replacement from the 50,000 training images."""
    value = experiment.whole_number(1000, 50_000)(text)
    if value % 1000:
        raise argparse.ArgumentTypeError(f"expected a multiple of 1000, got {value}")
    return value


def main(argv=None):
    def options(parser):
        parser.add_argument("--dataset", choices=["fashion-mnist", "mnist-test"],
                            default="fashion-mnist")
        parser.add_argument("--samples", type=thousands, default=None,
                            help="samples for the Parzen window: 1000 to 50000 in steps of "
                                 "1000 (default 10000, quick 2000)")
        parser.add_argument("--seeds", type=experiment.whole_number(1, 20), default=None,
                            help="how many GANs to train, seeds --seed, --seed + 1, ... "
                                 "(default 3, quick 1)")
    args = experiment.parse_args("03_original_gan", argv, steps=1500, quick_steps=150,
                                 add_arguments=options,
                                 description="Chapter 03: the original GAN on images")
    args.samples = args.samples or (2000 if args.quick else 10000)
    args.seeds = args.seeds or (1 if args.quick else 3)
    train_images, validation, test = load_splits(args.dataset)
    if args.samples > len(train_images):   # the real samples are drawn without replacement
        raise experiment.UsageError(
            f"--samples {args.samples} is more than the {len(train_images)} training images of "
            f"{args.dataset}; give --samples {len(train_images) // 1000 * 1000} or fewer")
    run = experiment.Run("03_original_gan", args, title="Chapter 03: the original GAN")

    if args.quick:
        validation, test = validation[:500], test[:1000]
    else:
        validation = validation[:1000]
    gan_scores, grids = [], None
    for seed in range(args.seed, args.seed + args.seeds):
        minigan.manual_seed(seed)
        generator = Generator(train_images.mean(axis=0))
        discriminator = MaxoutDiscriminator()
        snapshots = {0, args.steps // 4, args.steps // 2}
        seed_grids = train(generator, discriminator, train_images, args.steps, seed, run,
                           snapshots)
        grids = grids or seed_grids            # the figure shows the first seed's samples
        gan_scores.append(evaluate_gan(generator, validation, test, args.samples))
        print(f"seed {seed}: Parzen LL of the test set {gan_scores[-1]['mean']:.1f} nats",
              flush=True)
    scores = {"GAN": over_seeds(gan_scores),
              **evaluate_references(train_images, validation, test, args.samples, args.seed)}

    run.savefig(plot_samples(grids), "samples", "samples from a fixed z over training")
    run.savefig(plot_parzen(scores), "parzen", "Parzen-window log-likelihood of the test set")
    results = {}
    for name, score in scores.items():
        results[f"Parzen LL, {name}"] = round(score["mean"], 1)
        results[f"Parzen LL, {name}, standard error"] = round(score["standard_error"], 1)
        results[f"Parzen sigma, {name}"] = score["sigma"]
    results["Parzen LL, GAN, spread over seeds"] = round(scores["GAN"]["spread"], 1)
    results["Parzen LL, GAN, each seed"] = [round(v, 1) for v in scores["GAN"]["values"]]
    run.finish(results)
    return results


if __name__ == "__main__":
    experiment.command_line(main)
