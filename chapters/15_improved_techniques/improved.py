# %% [markdown]
# # Chapter 15: improved techniques, measured; and debugging a GAN
#
# Salimans et al. (2016, "Improved techniques for training GANs") proposed a handful of
# changes to the GAN game, and later papers added more. This chapter measures each one
# *alone* against the same baseline, at the same budget, on two problems:
#
# * the grid of 25 Gaussians (chapter 04's protocol: modes captured and the share of
#   high-quality samples, over several seeds trained side by side);
# * Fashion-MNIST with small multilayer perceptrons (FID, precision and recall on
#   minigan's own feature network, chapter 05), two seeds;
#
# and, as a modern reference, differentiable augmentation (DiffAugment) on a training set
# of only 500 images, with a check that G does not simply copy them.
#
# Before the measurements, one closed form: label smoothing changes the optimal
# discriminator, and we check the trained D against it in 1-D as chapter 02 did.
# After them, the debugging part: runs broken on purpose, and `python -m minigan diagnose`
# naming what broke each.
#
# Run: `python chapters/15_improved_techniques/improved.py` (minutes on two cores;
# `--quick` for a first look; `--parts` to run some parts only).

# %%
import argparse
import math
import time

import numpy as np
from scipy import stats

import minigan
import minigan.nn as nn
from minigan import data, experiment, plots
from minigan.data import toy
from minigan.gan import augment, improved, losses, theory
from minigan.gan.stacked import StackedLinear
from minigan.metrics.modes import mean_and_standard_error, mode_statistics
from minigan.progress import Progress

PARTS = ("smoothing", "grid", "images", "augment", "debug")

# %% [markdown]
# ## (a) Label smoothing and the optimal discriminator
#
# With real examples labelled alpha (instead of 1) and fakes beta (instead of 0), D
# minimises, at each x with densities p = p_data(x) and q = p_g(x),
#
#     -(alpha p + beta q) log D - ((1 - alpha) p + (1 - beta) q) log(1 - D),
#
# whose minimum is at
#
#     D*(x) = (alpha p_data(x) + beta p_g(x)) / (p_data(x) + p_g(x))
#
# (`theory.smoothed_optimal_discriminator`). One-sided smoothing (beta = 0) scales the
# plain D* by alpha: D never becomes over-confident, and D*'s shape, and so G's gradient,
# is unchanged. Two-sided smoothing adds beta p_g: where p_data is 0 and p_g is not, D* is
# beta, a constant, and a constant gives G no direction. We train a small D with each loss
# against fixed p_data = N(4, 0.5^2) and p_g = N(2.5, 1) and compare it with the closed
# form on the region that holds 98% of the samples D is trained on.

# %%
P_DATA, P_G = stats.norm(4.0, 0.5), stats.norm(2.5, 1.0)
SMOOTHINGS = {"none": (1.0, 0.0), "one-sided": (0.9, 0.0), "two-sided": (0.9, 0.1)}


def central_region(*densities, mass=0.98, points=1001):
    """Points spanning the central ``mass`` of the equal mixture of ``densities``: where D
    sees its training samples (outside it, D extrapolates from almost no data)."""
    from scipy import optimize

    def cdf(x):
        return np.mean([d.cdf(x) for d in densities])
    tail = (1 - mass) / 2
    low = optimize.brentq(lambda x: cdf(x) - tail, -100, 100)
    high = optimize.brentq(lambda x: cdf(x) - (1 - tail), -100, 100)
    return np.linspace(low, high, points)


def train_smoothed_discriminator(real_label, fake_label, steps, batch=1024, lr=3e-3):
    """An MLP D trained alone on samples of P_DATA and P_G with the smoothed loss."""
    D = nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 1))
    optimizer = minigan.optim.Adam(D.parameters(), lr=lr, betas=(0.9, 0.999))
    for step in range(steps):
        for group in optimizer.param_groups:   # a cosine decay quiets the last steps' noise
            group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / steps))
        real = (P_DATA.mean() + P_DATA.std() * minigan.randn(batch, 1) - 3.25) / 1.25
        fake = (P_G.mean() + P_G.std() * minigan.randn(batch, 1) - 3.25) / 1.25
        loss = improved.smoothed_discriminator_loss(D(real), D(fake), real_label, fake_label)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return D


def discriminator_on(D, x):
    """sigmoid(D) and d/dx log D at the points x (host float64), by autograd."""
    points = minigan.tensor(((x - 3.25) / 1.25).reshape(-1, 1).astype(np.float32),
                            requires_grad=True)
    log_d = -minigan.ops.softplus(-D(points))
    (slope,) = minigan.grad(log_d.sum(), points)
    return (np.exp(log_d.numpy().astype(np.float64).ravel()),
            slope.numpy().astype(np.float64).ravel() / 1.25)


def smoothing_part(steps):
    x = central_region(P_DATA, P_G)
    p, q = P_DATA.pdf(x), P_G.pdf(x)
    fakes = central_region(P_G, mass=0.9, points=401)      # where most of G's samples are
    out = {"x": x, "fake_x": fakes}
    results = {}
    for name, (alpha, beta) in SMOOTHINGS.items():
        D = train_smoothed_discriminator(alpha, beta, steps)
        d, _ = discriminator_on(D, x)
        _, slope = discriminator_on(D, fakes)
        closed = theory.smoothed_optimal_discriminator(p, q, alpha, beta)
        error = float(np.max(np.abs(d - closed)))
        pf, qf = P_DATA.pdf(fakes), P_G.pdf(fakes)
        closed_slope = theory.smoothed_generator_gradient(
            pf, qf, -(fakes - 4.0) / 0.25 * pf, -(fakes - 2.5) * qf, alpha, beta)
        out[name] = (d, closed, slope, closed_slope)
        results[f"smoothing {name}: max |D - D*|"] = round(error, 4)
        # G's push on its samples: the mean of d/dx log D over p_g (fakes move along it).
        weights = P_G.pdf(fakes) / P_G.pdf(fakes).sum()
        key = f"smoothing {name}: mean push on fakes"
        results[f"{key}, trained D"] = round(float(weights @ slope), 3)
        results[f"{key}, D*"] = round(float(weights @ closed_slope), 3)
    return results, out


def plot_smoothing(out):
    import matplotlib.pyplot as plt
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    colours = {"none": "tab:blue", "one-sided": "tab:green", "two-sided": "tab:red"}
    for name, (d, closed, slope, closed_slope) in ((k, out[k]) for k in SMOOTHINGS):
        alpha, beta = SMOOTHINGS[name]
        left.plot(out["x"], d, color=colours[name],
                  label=f"{name} (α={alpha}, β={beta}): trained D")
        left.plot(out["x"], closed, color=colours[name], linestyle=":", linewidth=2.5)
        right.plot(out["fake_x"], slope, color=colours[name], label=f"{name}: trained D")
        right.plot(out["fake_x"], closed_slope, color=colours[name], linestyle=":", linewidth=2.5)
    scale = left.get_ylim()[1]
    left.fill_between(out["x"], 0, P_DATA.pdf(out["x"]) / 0.8 * 0.3 * scale, color="black",
                      alpha=0.1, label="p_data (scaled)")
    left.fill_between(out["x"], 0, P_G.pdf(out["x"]) / 0.4 * 0.3 * scale, color="tab:orange",
                      alpha=0.1, label="p_g (scaled)")
    left.set_title("D (solid) against the smoothed D* (dotted)")
    left.set_xlabel("x")
    left.legend(fontsize=7)
    right.axhline(0, color="gray", linewidth=0.5)
    right.set_title("G's push on a fake at x: d/dx log D (dotted: of D*)")
    right.set_xlabel("x, over p_g's central 90%")
    right.legend(fontsize=7)
    figure.tight_layout()
    return figure


# %% [markdown]
# ## The players, stacked over seeds
#
# Every technique is measured over several seeds, trained side by side as one stack
# (`minigan.gan.stacked`, chapter 04): copy s of every layer has its own weights and sees
# only its own batch. The same two networks serve both problems: multilayer perceptrons
# of `dim` inputs (2 for the grid, 784 pixels for Fashion-MNIST).
#
# D is a trunk (linear layers with leaky ReLU) whose last hidden features f(x) feed the
# head, a linear layer to one logit. Feature matching reads f(x); minibatch
# discrimination and the minibatch standard deviation sit between the trunk and the head,
# where they see the batch's features. G is linear layers with ReLU, and virtual batch
# norm, when it is the technique, after each hidden layer: G then carries a reference
# batch of z, drawn once, through the same layers.

# %%
class StackedDiscriminator(nn.Module):
    def __init__(self, copies, sizes, generators, batch_layer=None):
        super().__init__()
        layers = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            layers += [StackedLinear(copies, n_in, n_out, generators), nn.LeakyReLU(0.2)]
        self.trunk = nn.Sequential(*layers)
        width = sizes[-1]
        if batch_layer == "minibatch_stddev":
            self.batch_layer, width = improved.MinibatchStdDev(), width + 1
        elif batch_layer == "minibatch_discrimination":
            self.batch_layer = improved.MinibatchDiscrimination(width, kernels=8, kernel_dim=4,
                                                                copies=copies)
            width += 8
        else:
            self.batch_layer = None
        self.head = StackedLinear(copies, width, 1, generators)

    def forward(self, x):
        """(logits (S, N, 1), the trunk's features (S, N, hidden))."""
        features = self.trunk(x)
        h = features if self.batch_layer is None else self.batch_layer(features)
        return self.head(h), features


class StackedGenerator(nn.Module):
    def __init__(self, copies, sizes, generators, output="linear", virtual_batch_norm=False,
                 reference=64):
        super().__init__()
        self.linears = [StackedLinear(copies, a, b, generators)
                        for a, b in zip(sizes[:-1], sizes[1:])]
        for i, layer in enumerate(self.linears):
            self.add_module(f"linear{i}", layer)
        self.norms = []
        if virtual_batch_norm:
            self.norms = [improved.VirtualBatchNorm(width) for width in sizes[1:-1]]
            for i, layer in enumerate(self.norms):
                self.add_module(f"vbn{i}", layer)
            # The reference batch: drawn once, kept with the model (a buffer, not trained).
            self.register_buffer("reference_z", minigan.randn(copies, reference, sizes[0]))
        self.output = output

    def forward(self, z):
        h, ref = z, (self.reference_z if self.norms else None)
        for i, layer in enumerate(self.linears):
            h = layer(h)
            if self.norms:
                ref = layer(ref)
            if i < len(self.linears) - 1:
                if self.norms:
                    h, ref = self.norms[i](h, ref)
                    ref = ref.relu()
                h = h.relu()
        return h.tanh() if self.output == "tanh" else h


# %% [markdown]
# ## One step, with each technique
#
# D's step is the cross-entropy of chapter 02 (one-sided smoothing: real labels 0.9),
# with historical averaging's penalty lambda ||theta_D - mean of past theta_D||^2 added
# when it is the technique; G's step is the non-saturating loss, or, for feature
# matching, ||mean f(x) - mean f(G(z))||^2, plus its own historical penalty. With
# DiffAugment both players see every image, real or generated, through the same random
# translation, cutout and change of brightness and contrast. The stack's loss is the sum
# of its copies' losses (a mean over the copies would scale each copy's gradient by 1/S).

# %%
METHODS = ("baseline", "feature_matching", "minibatch_stddev", "minibatch_discrimination",
           "historical_averaging", "one_sided_smoothing", "virtual_batch_norm")


class Game:
    """The two stacked players of one technique, their optimisers and their step."""

    def __init__(self, method, config, copies, seed, dim, output, augment_images=False):
        generators = [np.random.default_rng(1000 * seed + s) for s in range(copies)]
        hidden = config["hidden"]
        self.method, self.config, self.copies = method, config, copies
        self.z_dim, self.augment_images = config["z_dim"], augment_images
        self.G = StackedGenerator(copies, (config["z_dim"],) + tuple(hidden) + (dim,), generators,
                                  output, virtual_batch_norm=method == "virtual_batch_norm")
        batch_layer = method if method in ("minibatch_stddev", "minibatch_discrimination") else None
        self.D = StackedDiscriminator(copies, (dim,) + tuple(reversed(hidden)), generators,
                                      batch_layer)
        betas = (0.5, 0.999)
        self.opt_g = minigan.optim.Adam(self.G.parameters(), lr=config["lr"], betas=betas)
        self.opt_d = minigan.optim.Adam(self.D.parameters(), lr=config["lr"], betas=betas)
        self.history = None
        if method == "historical_averaging":
            self.history = (improved.HistoricalAverage(self.G), improved.HistoricalAverage(self.D))

    def seen(self, x):
        """What D sees of a batch (S, N, 784): with DiffAugment, the images transformed."""
        if not self.augment_images:
            return x
        s, n, _ = x.shape
        return augment.diff_augment(x.reshape(s * n, 1, 28, 28)).reshape(s, n, 784)

    def step(self, real):
        S, weight = self.copies, self.config["historical_weight"]
        z = minigan.randn(S, real.shape[1], self.z_dim)
        fake = self.G(z)
        real_logits, real_features = self.D(self.seen(real))
        fake_logits, _ = self.D(self.seen(fake.detach()))
        alpha = 0.9 if self.method == "one_sided_smoothing" else 1.0
        loss_d = S * improved.smoothed_discriminator_loss(real_logits, fake_logits, alpha, 0.0)
        if self.history:
            loss_d = loss_d + weight * self.history[1].penalty()
        self.opt_d.zero_grad()
        loss_d.backward()
        self.opt_d.step()
        if self.method == "feature_matching":
            _, fake_features = self.D(fake)
            loss_g = improved.feature_matching_loss(real_features.detach(), fake_features)
        else:
            loss_g = S * losses.generator_loss_nonsaturating(self.D(self.seen(fake))[0])
        if self.history:
            loss_g = loss_g + weight * self.history[0].penalty()
        self.opt_g.zero_grad()
        loss_g.backward()
        self.opt_g.step()
        if self.history:
            self.history[0].update()
            self.history[1].update()
        return loss_d.item() / S, loss_g.item() / S

    def sample(self, n):
        """n samples of every copy, (S, n, dim) on the host."""
        with minigan.no_grad():
            return self.G(minigan.randn(self.copies, n, self.z_dim)).numpy()


def set_learning_rates(game, lr, decay, step, steps):
    """lr, falling linearly to 0 over the last ``decay`` fraction of the steps (chapter 04)."""
    start = steps * (1 - decay)
    factor = 1.0 if step < start else (steps - step) / (steps - start)
    for optimizer in (game.opt_g, game.opt_d):
        for group in optimizer.param_groups:
            group["lr"] = lr * factor


# %% [markdown]
# ## (b) The grid of 25 Gaussians
#
# Chapter 04's grid: 25 Gaussians of std 0.05 at {-4, -2, 0, 2, 4}^2, seen by the networks
# divided by 4. 2,500 samples of each seed's G are counted: a sample is high quality
# within 3 standard deviations of its nearest mode, and a mode is captured when some
# high-quality sample is nearest to it.

# %%
GRID_CONFIG = {"hidden": (128, 128), "z_dim": 2, "batch": 64, "lr": 1e-3, "decay": 0.5,
               "historical_weight": 0.01}


def grid_part(methods, seeds, steps, seed):
    centres, scale = toy.grid_centres(), 0.25
    rng = np.random.default_rng(seed)
    results, finals, seconds = {}, {}, {}
    for method in methods:
        minigan.manual_seed(seed)
        game = Game(method, GRID_CONFIG, seeds, seed, 2, "linear")
        progress = Progress(steps, desc=f"grid {method}")
        start = time.perf_counter()
        for step in range(steps):
            set_learning_rates(game, GRID_CONFIG["lr"], GRID_CONFIG["decay"], step, steps)
            points, _ = toy.grid(seeds * GRID_CONFIG["batch"], rng)
            real = minigan.tensor(points.reshape(seeds, -1, 2) * scale, dtype="float32")
            loss_d, loss_g = game.step(real)
            progress.update(loss_d=loss_d, loss_g=loss_g)
        progress.close()
        seconds[method] = time.perf_counter() - start
        samples = game.sample(2500) / scale
        statistics = [mode_statistics(s, centres, 0.05) for s in samples]
        finals[method] = samples, statistics
        for name, values in (("modes", [s.modes for s in statistics]),
                             ("high quality", [s.high_quality for s in statistics])):
            mean, error = mean_and_standard_error(values)
            results[f"grid {method}: {name}"] = round(mean, 4)
            results[f"grid {method}: {name}, standard error"] = round(error, 4)
        results[f"grid {method}: modes per seed"] = " ".join(str(s.modes) for s in statistics)
        results[f"grid {method}: training seconds"] = round(seconds[method], 1)
    return results, finals


def plot_grid(finals):
    import matplotlib.pyplot as plt
    methods = list(finals)
    figure, axes = plt.subplots(1, len(methods), figsize=(2.6 * len(methods), 2.9), squeeze=False)
    centres = toy.grid_centres()
    for axis, method in zip(axes[0], methods):
        samples, statistics = finals[method]
        axis.scatter(samples[0][:, 0], samples[0][:, 1], s=1, alpha=0.3, rasterized=True)
        axis.scatter(centres[:, 0], centres[:, 1], marker="x", s=12, color="tab:red")
        axis.set_xlim(-5.2, 5.2)
        axis.set_ylim(-5.2, 5.2)
        axis.set_aspect("equal")
        axis.set_xticks([])
        axis.set_yticks([])
        mean_modes = np.mean([s.modes for s in statistics])
        axis.set_title(f"{method.replace('_', ' ')}\nseed 0: {statistics[0].modes} modes "
                       f"(mean {mean_modes:.1f})", fontsize=8)
    figure.suptitle("grid of 25: 2,500 samples of seed 0's G per technique (red: the modes)")
    figure.tight_layout()
    return figure


# %% [markdown]
# ## (c) Fashion-MNIST with small perceptrons
#
# G: z (64) -> 256 -> 512 -> 784 pixels (tanh); D: 784 -> 512 -> 256 -> 1. Adam with
# lr 1e-3 and betas (0.5, 0.999), batch 64, the same number of steps for every technique
# (at DCGAN's lr 2e-4 these perceptrons still make noise after 250 steps: FID 850).
# After training, each seed's G draws `--fid-samples` images, measured against as many
# test images on the feature network: FID (lower is better), precision (the share of
# generated images that look like some real one) and recall (the share of real images
# that some generated one looks like).

# %%
IMAGE_CONFIG = {"hidden": (256, 512), "z_dim": 64, "batch": 64, "lr": 1e-3, "decay": 0.0,
                "historical_weight": 0.01}


def image_scores(network, reference, samples):
    from minigan.metrics import features
    return [features.image_scores(network, s.reshape(-1, 1, 28, 28), reference) for s in samples]


def train_images(game, images, steps, rng, desc):
    progress = Progress(steps, desc=desc)
    batch = IMAGE_CONFIG["batch"]
    for step in range(steps):
        set_learning_rates(game, IMAGE_CONFIG["lr"], IMAGE_CONFIG["decay"], step, steps)
        index = rng.integers(0, len(images), size=(game.copies, batch))
        real = minigan.tensor(images[index], dtype="float32")
        loss_d, loss_g = game.step(real)
        progress.update(loss_d=loss_d, loss_g=loss_g)
    progress.close()


def summarise_scores(results, key, scores):
    for name in ("fid", "precision", "recall"):
        values = [s[name] for s in scores]
        mean, error = mean_and_standard_error(values)
        results[f"{key}: {name}"] = round(mean, 4 if name != "fid" else 2)
        results[f"{key}: {name}, standard error"] = round(error, 4 if name != "fid" else 2)
        results[f"{key}: {name} per seed"] = " ".join(f"{v:.4g}" for v in values)


def images_part(methods, seeds, steps, seed, network, reference, fid_samples, train):
    results, grids = {}, {}
    flat = train.reshape(len(train), -1)
    for method in methods:
        minigan.manual_seed(seed)
        game = Game(method, IMAGE_CONFIG, seeds, seed, 784, "tanh")
        start = time.perf_counter()
        train_images(game, flat, steps, np.random.default_rng(seed), f"images {method}")
        results[f"images {method}: training seconds"] = round(time.perf_counter() - start, 1)
        samples = game.sample(fid_samples)
        summarise_scores(results, f"images {method}", image_scores(network, reference, samples))
        grids[method] = samples[0][:16].reshape(-1, 1, 28, 28)
    return results, grids


def plot_image_grids(grids, title):
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(1, len(grids), figsize=(2.1 * len(grids), 2.5), squeeze=False)
    for axis, (name, images) in zip(axes[0], grids.items()):
        plots.show_grid(axis, images, columns=4, title=name.replace("_", " "))
        axis.title.set_fontsize(8)
    figure.suptitle(title)
    figure.tight_layout()
    return figure


# %% [markdown]
# ## (d) DiffAugment on 500 images, and a memorisation check
#
# The same perceptrons, trained on only the first 500 training images for as many steps
# (about 8 batches make a pass, so D sees each image ~ steps / 8 times), without and with
# differentiable augmentation. Besides FID, a check that G has not learned to copy: for
# each generated image, the distance to its nearest training image; the same for
# held-out test images. A G that copies its 500 images sits much closer to them than new
# real images do (ratio of medians well under 1); a G that makes new images, no closer.

# %%
def nearest_distances(queries, train, block=500):
    """Euclidean distance from each query (N, 784) to its nearest row of ``train`` (M, 784)."""
    squared_train = (train ** 2).sum(axis=1)
    out = []
    for i in range(0, len(queries), block):
        q = queries[i:i + block]
        d2 = (q ** 2).sum(axis=1)[:, None] - 2 * q @ train.T + squared_train[None, :]
        out.append(np.sqrt(np.maximum(d2.min(axis=1), 0)))
    return np.concatenate(out)


def augment_part(seeds, steps, seed, network, reference, fid_samples, train, test, size):
    results, grids = {}, {}
    few = train[:size].reshape(size, -1).astype(np.float64)
    held_out = test[-fid_samples:].reshape(fid_samples, -1).astype(np.float64)
    real_distance = np.median(nearest_distances(held_out, few))
    results[f"augment: held-out images' median distance to the {size}"] = round(real_distance, 3)
    for name, augmented in (("baseline", False), ("diffaugment", True)):
        minigan.manual_seed(seed)
        game = Game("baseline", IMAGE_CONFIG, seeds, seed, 784, "tanh", augment_images=augmented)
        start = time.perf_counter()
        train_images(game, few, steps, np.random.default_rng(seed), f"{size} images, {name}")
        results[f"augment {name}: training seconds"] = round(time.perf_counter() - start, 1)
        samples = game.sample(fid_samples)
        summarise_scores(results, f"augment {name}", image_scores(network, reference, samples))
        ratios = [np.median(nearest_distances(s.astype(np.float64), few)) / real_distance
                  for s in samples]
        mean, error = mean_and_standard_error(ratios)
        results[f"augment {name}: memorisation ratio"] = round(mean, 3)
        results[f"augment {name}: memorisation ratio, standard error"] = round(error, 3)
        grids[f"{name}, {size} images"] = samples[0][:16].reshape(-1, 1, 28, 28)
    return results, grids


# %% [markdown]
# ## (e) Debugging: runs broken on purpose, and `diagnose`
#
# Five short runs on chapter 04's ring of 8 Gaussians (radius 1, std 0.01) with one plain
# (unstacked) GAN each, written as any
# chapter's run is (`experiment.Run` and the `Trainer`: config.json, metrics.csv with
# the losses, G's and D's gradient norms and D's mean outputs, evaluations.csv with
# precision, recall and the samples' diversity, a checkpoint). One is healthy; each of
# the others has one thing wrong, as learners' runs do:
#
# * **D too strong**: ten D steps per G step, D four times as wide, lr_d 200 times lr_g,
#   and G on the saturating loss log(1 - D(G(z))), whose gradient vanishes when D wins;
# * **learning rate too high**: Adam at lr 0.05 for both players;
# * **no normalisation**: the ring fed at 4 times its scale (radius 4, as data in its own
#   units would be) to a G whose tanh output cannot leave [-1, 1];
# * **collapsed G**: a typo in the noise, z ~ N(0, 0.001^2 I) instead of N(0, I): every
#   z is nearly the same z, and so is every sample.
#
# `python -m minigan diagnose RUN_FOLDER` (``minigan.diagnose``) reads each folder and
# names what it finds.

# %%
DEBUG_RUNS = {
    #                lr_g   lr_d  D steps  D width  G loss         data scale  z's std
    "healthy":       (1e-3, 1e-3, 1, 128, "nonsaturating", 1.0, 1.0),
    "d_too_strong":  (1e-5, 2e-3, 10, 512, "saturating", 1.0, 1.0),
    "lr_too_high":   (5e-2, 5e-2, 1, 128, "nonsaturating", 1.0, 1.0),
    "no_normalisation": (1e-3, 1e-3, 1, 128, "nonsaturating", 4.0, 1.0),
    "collapsed_g":   (1e-3, 1e-3, 1, 128, "nonsaturating", 1.0, 1e-3),
}
# What diagnose should name for each: any one of these problems counts.
EXPECTED = {"healthy": set(), "d_too_strong": {"discriminator wins"},
            "lr_too_high": {"learning rate"}, "no_normalisation": {"discriminator wins"},
            "collapsed_g": {"mode collapse"}}


def debug_run(name, parent, steps, seed):
    from minigan import diagnose
    from minigan.training import Trainer, TrainingDiverged
    lr_g, lr_d, d_steps, width, g_loss, scale, z_std = DEBUG_RUNS[name]
    batch, z_dim = 64, 2
    args = argparse.Namespace(out=parent / name, seed=seed, steps=steps, batch_size=batch,
                              lr_g=lr_g, lr_d=lr_d, d_steps=d_steps, d_width=width,
                              g_loss=g_loss, data_scale=scale, z_std=z_std,
                              resume=False)
    minigan.manual_seed(seed)
    run = experiment.Run("15_improved_techniques", args, title=f"Chapter 15 debugging: {name}")
    points, _ = toy.ring(20000, np.random.default_rng(seed))
    points = (points * scale).astype(np.float32)
    G = nn.Sequential(nn.Linear(z_dim, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                      nn.Linear(128, 2), nn.Tanh())
    D = nn.Sequential(nn.Linear(2, width), nn.LeakyReLU(0.2), nn.Linear(width, width),
                      nn.LeakyReLU(0.2), nn.Linear(width, 1))
    opt_g = minigan.optim.Adam(G.parameters(), lr=lr_g, betas=(0.5, 0.999))
    opt_d = minigan.optim.Adam(D.parameters(), lr=lr_d, betas=(0.5, 0.999))
    g_loss_fn = losses.LOSSES[g_loss][1]
    batches = data.Batches(points, batch_size=batch, seed=seed)

    def noise(n=batch):
        return z_std * minigan.randn(n, z_dim)     # the collapsed run's bug: z_std 1e-3

    def step(real):
        for _ in range(d_steps):      # the same real batch each time: D only grows stronger
            real_logits, fake_logits = D(real), D(G(noise()).detach())
            loss_d = losses.discriminator_loss(real_logits, fake_logits)
            opt_d.zero_grad()
            loss_d.backward()
            norm_d = diagnose.gradient_norm(D)
            opt_d.step()
        loss_g = g_loss_fn(D(G(noise())))
        opt_g.zero_grad()
        loss_g.backward()
        norm_g = diagnose.gradient_norm(G)
        opt_g.step()
        sigmoid = minigan.ops.sigmoid
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item(), "grad_norm_g": norm_g,
                "grad_norm_d": norm_d, "d_real": sigmoid(real_logits).mean().item(),
                "d_fake": sigmoid(fake_logits).mean().item()}

    reference = points[:1000].astype(np.float64)
    real_diversity = diagnose.sample_diversity(reference)

    def evaluate(step):
        from minigan.metrics.precision_recall import precision_recall
        from minigan.training import evaluating
        with evaluating(G):
            samples = G(noise(1000)).numpy().astype(np.float64)
        scores = precision_recall(reference, samples)
        statistics = mode_statistics(samples / scale, toy.ring_centres(), 0.01)
        return {"precision": scores.precision, "recall": scores.recall,
                "diversity": diagnose.sample_diversity(samples), "real_diversity": real_diversity,
                "modes": statistics.modes}

    trainer = Trainer(step, batches, steps, run, G=G, D=D, opt_g=opt_g, opt_d=opt_d,
                      log_every=10, checkpoint_every=None, evaluate_fn=evaluate,
                      evaluate_every=max(steps // 10, 1), desc=f"debug {name}")
    try:
        trainer.fit()
        stopped = ""
    except TrainingDiverged as error:
        stopped = str(error)
    run.metrics()      # flush metrics.csv for diagnose to read
    findings = diagnose.diagnose(run.dir)
    print(diagnose.format_report(run.dir, findings))
    return findings, stopped, run.dir


def debug_part(parent, steps, seed):
    results, table = {}, []
    for name in DEBUG_RUNS:
        findings, stopped, folder = debug_run(name, parent, steps, seed)
        named = sorted({f.problem for f in findings})
        results[f"debug {name}: problems named"] = ", ".join(named) or "none"
        results[f"debug {name}: stopped early"] = bool(stopped)
        table.append(f"| {name.replace('_', ' ')} | {', '.join(sorted(EXPECTED[name])) or 'none'} "
                     f"| {', '.join(named) or 'none'} | `{folder}` |")
    header = ["| run | planted | diagnose names | folder |", "| --- | --- | --- | --- |"]
    return results, "\n".join(header + table)


# %% [markdown]
# ## Running it all
#
# `--steps` is the grid's budget (default 3,000, quick 600); the other parts have their
# own (`--image-steps`, `--augment-steps`, `--smoothing-steps`, `--debug-steps`), and
# `--parts` picks the parts to run. With `--quick` the images get 100 steps: enough to
# check that everything runs, not to tell the techniques apart (FID is still near 900).

# %%
def add_arguments(parser):
    count = experiment.whole_number(1)
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS),
                        help="which parts to run (default all)")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--grid-seeds", type=count, default=None,
                        help="seeds on the grid (default 3, quick 2)")
    parser.add_argument("--image-seeds", type=count, default=None,
                        help="seeds on Fashion-MNIST (default 2, quick 2)")
    parser.add_argument("--image-steps", type=count, default=None,
                        help="steps on Fashion-MNIST (default 1000, quick 100)")
    parser.add_argument("--augment-steps", type=count, default=None,
                        help="steps on the 500 images (default 1000, quick 100)")
    parser.add_argument("--image-lr", type=experiment.number(above=0), default=IMAGE_CONFIG["lr"],
                        help=f"Adam's lr on Fashion-MNIST (default {IMAGE_CONFIG['lr']:g})")
    parser.add_argument("--few-images", type=experiment.whole_number(64, 60000), default=500,
                        help="the small training set of part (d) (default 500)")
    parser.add_argument("--smoothing-steps", type=count, default=None,
                        help="steps of each 1-D D in part (a) (default 3000, quick too)")
    parser.add_argument("--debug-steps", type=count, default=None,
                        help="steps of each debugging run (default 1000, quick 600)")
    parser.add_argument("--fid-samples", type=experiment.whole_number(4, 10_000), default=None,
                        help="images per FID (default 1000, quick 500)")
    parser.add_argument("--feature-cache", default=None,
                        help="folder of the cached feature network (default MINIGAN_CACHE "
                             "or ~/.cache/minigan)")


def fill_in(args):
    quick = args.quick
    defaults = {"grid_seeds": (3, 2), "image_seeds": (2, 2),
                "image_steps": (1000, 100), "augment_steps": (1000, 100),
                "smoothing_steps": (3000, 3000), "debug_steps": (1000, 600),
                "fid_samples": (1000, 500)}
    for key, (default, short) in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, short if quick else default)


def main(argv=None):
    args = experiment.parse_args("15_improved_techniques", argv, steps=3000, quick_steps=600,
                                 add_arguments=add_arguments,
                                 description="Chapter 15: improved techniques and debugging")
    fill_in(args)
    IMAGE_CONFIG["lr"] = args.image_lr
    run = experiment.Run("15_improved_techniques", args,
                         title="Chapter 15: improved techniques, measured; debugging")
    results, notes = {}, []
    if "smoothing" in args.parts:
        minigan.manual_seed(args.seed)
        part, out = smoothing_part(args.smoothing_steps)
        results.update(part)
        run.savefig(plot_smoothing(out), "smoothing",
                    "trained D against the smoothed D* in 1-D, and G's push on its fakes")
    if "grid" in args.parts:
        part, finals = grid_part(args.methods, args.grid_seeds, args.steps, args.seed)
        results.update(part)
        run.savefig(plot_grid(finals), "grid", "seed 0's samples on the grid, per technique")
    if "images" in args.parts or "augment" in args.parts:
        from minigan.metrics import features
        network, _ = features.load_feature_classifier("fashion-mnist",
                                                      cache_root=args.feature_cache)
        reference, floor = features.reference_and_floor(network, args.fid_samples)
        results["FID of held-out real images (the floor)"] = round(floor, 2)
        train, _ = data.load("fashion-mnist", "train")
        test, _ = data.load("fashion-mnist", "test")
    if "images" in args.parts:
        part, grids = images_part(args.methods, args.image_seeds, args.image_steps, args.seed,
                                  network, reference, args.fid_samples, train)
        results.update(part)
        run.savefig(plot_image_grids(grids, "Fashion-MNIST: seed 0's samples per technique"),
                    "images", "seed 0's samples on Fashion-MNIST, per technique")
    if "augment" in args.parts:
        part, grids = augment_part(args.image_seeds, args.augment_steps, args.seed, network,
                                   reference, args.fid_samples, train, test, args.few_images)
        results.update(part)
        run.savefig(plot_image_grids(grids, f"{args.few_images} training images: without and "
                                            f"with DiffAugment"),
                    "augment", "seed 0's samples trained on few images, without and with "
                               "DiffAugment")
    if "debug" in args.parts:
        part, table = debug_part(run.dir / "debug", args.debug_steps, args.seed)
        results.update(part)
        notes.append("Debugging runs (`python -m minigan diagnose FOLDER`):\n\n" + table)
    run.finish(results, notes="\n\n".join(notes))
    return results


if __name__ == "__main__":
    experiment.command_line(main)
