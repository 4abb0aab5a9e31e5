# %% [markdown]
# # Chapter 16: GAN, VAE and diffusion, measured on one engine
#
# Every overview of GANs ends with a table like this one:
#
# | | GAN | VAE | diffusion |
# | --- | --- | --- | --- |
# | samples | sharp | blurry | sharp |
# | coverage of the data | mode collapse | good | excellent |
# | training | unstable | stable | stable |
# | likelihood | none | a lower bound (ELBO) | a lower bound (variational) |
# | sampling | fast (one pass) | fast (one pass) | slow (T passes) |
#
# This chapter measures it instead. Beside chapter 06's DCGAN (made smaller) it builds a
# variational autoencoder and a denoising diffusion model (DDPM) from the same layers, trains
# all three on the same data for the same CPU seconds, and measures every cell. First, three
# closed forms that say what the two new models *are*: the ELBO against the exact likelihood
# of a linear-Gaussian model, the forward process against its marginal, and a trained
# denoiser against the exact score of a noised mixture.
#
# Run: `python chapters/16_gan_vae_diffusion/compare.py` (minutes on two cores; `--quick` for
# a first look; `--parts closed-form,toy` leaves out the images, which need Fashion-MNIST).

# %%
import argparse
import math
import time
import tracemalloc

import numpy as np

import minigan
from minigan import backend, data, experiment, models, nn, plots
from minigan.baselines import diffusion, unet, vae
from minigan.data import toy
from minigan.gan import losses
from minigan.gan.stacked import stacked_mlp
from minigan.metrics import features
from minigan.metrics.classifier import class_coverage
from minigan.metrics.image_quality import sharpness
from minigan.metrics.modes import mean_and_standard_error, mode_statistics
from minigan.metrics.parzen import parzen_estimate
from minigan.progress import Progress
from minigan.training import Trainer, evaluating, generate

PARTS = ("closed-form", "toy", "images")

# %% [markdown]
# ## 1. The ELBO against an exact likelihood (probabilistic PCA)
#
# A VAE with a *linear* decoder, x | z ~ N(W z + mu, sigma^2 I), z ~ N(0, I), is probabilistic
# PCA (Tipping & Bishop 1999): x ~ N(mu, W W^T + sigma^2 I) exactly, and the posterior
# p(z | x) is the Gaussian N(M^-1 W^T (x - mu), sigma^2 M^-1), M = W^T W + sigma^2 I. For any
# encoder q(z | x),
#
#     log p(x) - ELBO(x) = KL(q(z | x) || p(z | x)) >= 0,
#
# so the ELBO never exceeds log p(x), and equals it when q is the posterior. We check both in
# closed form (`minigan.baselines.vae.linear_gaussian_elbo`), then train the VAE's encoder
# (a linear layer giving a mean and a *diagonal* log-variance, by Adam on the one-sample
# ELBO, the decoder held at W) and measure its gap. W's columns are not orthogonal, so the
# posterior's covariance is not diagonal and no diagonal q reaches it: the best one keeps
# the posterior's precisions on its diagonal, Lambda_jj, and its gap is
# 0.5 (sum_j log Lambda_jj - log det Lambda) (a closed form too). The trained encoder should
# come close to that and never below it.


# %%
def linear_gaussian_model(rng, dimensions=6, latent=2):
    """W (D, L) with correlated columns, mu (D,), sigma2: a probabilistic-PCA model."""
    W = rng.standard_normal((dimensions, latent))
    W[:, 1] += 0.8 * W[:, 0]     # correlated columns: a non-diagonal posterior covariance
    return W, rng.standard_normal(dimensions), 0.5


def best_diagonal_gap(W, sigma2):
    """The smallest KL(q || posterior) over diagonal Gaussians q: with the posterior's
    precision Lambda = M / sigma2, q's precisions are Lambda_jj and the gap is
    0.5 (sum_j log Lambda_jj - log det Lambda)."""
    precision = (W.T @ W + sigma2 * np.eye(W.shape[1])) / sigma2
    return 0.5 * (np.log(np.diag(precision)).sum() - np.linalg.slogdet(precision)[1])


class FixedLinearDecoder(nn.Module):
    """z -> W z + mu with W and mu held fixed (constants, not parameters)."""

    def __init__(self, W, mu):
        super().__init__()
        self.W = minigan.tensor(W.T, dtype="float32")
        self.mu = minigan.tensor(mu, dtype="float32")

    def forward(self, z):
        return z @ self.W + self.mu


def train_linear_encoder(W, mu, sigma2, x, steps, lr=0.01, batch=256, rng=None):
    """A VAE with a fixed linear decoder and a trainable linear encoder (D -> 2L), trained on
    the negative one-sample ELBO; returns the encoder's (means, diagonal covariances) on x."""
    D, L = W.shape
    model = vae.VAE(nn.Linear(D, 2 * L), FixedLinearDecoder(W, mu), L, scale_shape=(D,))
    model.log_scale.data[...] = 0.5 * math.log(sigma2)
    optimizer = minigan.optim.Adam(model.encoder.parameters(), lr=lr)
    for step in range(steps):
        rows = rng.integers(0, len(x), batch)
        loss = -model.elbo(minigan.tensor(x[rows], dtype="float32")).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with minigan.no_grad():
        mean, log_var = model.encode(minigan.tensor(x, dtype="float32"))
    mean = backend.to_numpy(mean.data).astype(np.float64)
    variances = np.exp(backend.to_numpy(log_var.data).astype(np.float64))
    return mean, variances[:, :, None] * np.eye(L)[None]


def check_elbo(seed, steps):
    rng = np.random.default_rng(seed)
    W, mu, sigma2 = linear_gaussian_model(rng)
    D, L = W.shape
    x = rng.standard_normal((2000, L)) @ W.T + mu + math.sqrt(sigma2) * rng.standard_normal((2000, D))
    exact = vae.ppca_log_likelihood(x, W, mu, sigma2)
    posterior_mean, posterior_cov = vae.ppca_posterior(x, W, mu, sigma2)
    at_posterior = vae.linear_gaussian_elbo(x, W, mu, sigma2, posterior_mean, posterior_cov)
    # 200 arbitrary Gaussian encoders: random means and full covariances, each on 100 points
    excess = []
    for _ in range(200):
        rows = rng.integers(0, len(x), 100)
        A = rng.standard_normal((L, L))
        q_mean = posterior_mean[rows] + rng.standard_normal((100, L)) * rng.uniform(0, 2)
        excess.append(np.max(vae.linear_gaussian_elbo(x[rows], W, mu, sigma2, q_mean,
                                                      A @ A.T + 0.01 * np.eye(L)) - exact[rows]))
    trained_mean, trained_cov = train_linear_encoder(W, mu, sigma2, x, steps, rng=rng)
    trained = vae.linear_gaussian_elbo(x, W, mu, sigma2, trained_mean, trained_cov)
    return {"ELBO - log p(x), most over 200 random encoders (nats)": float(max(excess)),
            "|ELBO - log p(x)| at the exact posterior, max over 2,000 points":
                float(np.max(np.abs(at_posterior - exact))),
            "gap log p(x) - ELBO of the trained diagonal encoder (nats, mean)":
                float(np.mean(exact - trained)),
            "gap of the best diagonal encoder (closed form, nats)": float(best_diagonal_gap(W, sigma2)),
            "log p(x), mean (nats)": float(exact.mean())}


# %% [markdown]
# ## 2. The forward process against its marginal
#
# The forward process adds noise step by step, x_t = sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t)
# eps_t. Its marginal has a closed form: q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I)
# with abar_t = prod_{s <= t} (1 - beta_s), which is what lets DDPM train on any t in one
# draw. We run the chain step by step from one x_0, many times, and compare the sample mean
# and variance at several t with the closed form, in units of their standard errors
# (sqrt((1 - abar_t) / n) for the mean, (1 - abar_t) sqrt(2 / (n - 1)) for the variance): a
# correct formula gives |z| below about 4 on all of them.


# %%
def check_forward_marginal(seed, chains=20000, steps=100):
    rng = np.random.default_rng(seed)
    betas = diffusion.scaled_linear_schedule(steps)
    x0 = np.array([1.5, -0.7])
    x = np.repeat(x0[None], chains, axis=0)
    z_scores = []
    for t in range(steps):
        x = math.sqrt(1 - betas[t]) * x + math.sqrt(betas[t]) * rng.standard_normal(x.shape)
        if t + 1 in (1, 5, 20, 50, steps):
            mean, variance = diffusion.marginal_mean_and_variance(x0, t, betas)
            z_scores.append(np.abs(x.mean(axis=0) - mean) / math.sqrt(variance / chains))
            z_scores.append(np.abs(x.var(axis=0, ddof=1) - variance)
                            / (variance * math.sqrt(2 / (chains - 1))))
    return {"forward marginal: largest |z| of mean and variance (5 steps, 2 coordinates)":
            float(np.max(z_scores)),
            "abar_T (the chain's end is N(0, I) within this)":
            float(diffusion.alpha_bars(betas)[-1])}


# %% [markdown]
# ## 3. The three models on the grid of 25 Gaussians
#
# The grid of chapter 04 (`minigan.data.toy.grid`, std 0.05, seen by the networks divided by
# 4) and its protocol (`minigan.metrics.modes`: 2,500 samples, modes captured, the share
# within 3 standard deviations). Each model is a small MLP: the GAN's G and D (2 -> 128 ->
# 128 -> out, the vanilla non-saturating GAN of chapter 04), the VAE's encoder and decoder (a
# 2-D latent, a learned noise scale), and the diffusion model's noise network (3 hidden
# layers of 128 on [x_t, sinusoidal features of t], T = 100). All three train for the same
# number of steps on the same batch size, with Adam, the learning rate falling to 0 over the
# last half; three seeds side by side (`minigan.gan.stacked`) at each of three learning
# rates. The VAE's samples are the model's own, g(z) + sigma eps, noise included: that is
# the distribution it fits.
#
# The diffusion model's noise network has a target we know. The noised grid is again a
# mixture, q_t(x) = sum_k N(sqrt(abar_t) c_k, (abar_t s^2 + 1 - abar_t) I) / 25, so the best
# possible noise prediction is eps*(x_t, t) = -sqrt(1 - abar_t) grad log q_t(x_t)
# (`diffusion.mixture_score`). We measure the trained network against it: the mean of
# ||eps_theta - eps*||^2 over t and x_t ~ q_t, relative to the mean of ||eps*||^2 (0 is
# perfect, 1 is as bad as predicting 0).


# %%
TOY = {"hidden": 128, "batch": 256, "z_dim": 2, "latent": 2, "diffusion_steps": 100,
       "betas": (0.5, 0.999), "decay": 0.5}
TOY_LRS = (3e-4, 1e-3, 3e-3)
TOY_SCALE, TOY_STD, TOY_CENTRES = 0.25, 0.05, toy.grid_centres()
TOY_SAMPLES = 2500


def toy_models(model, copies, seed):
    """The stacked networks of ``model`` and the function giving the stacked loss."""
    generators = [np.random.default_rng(1000 * seed + s) for s in range(copies)]
    h = TOY["hidden"]
    if model == "gan":
        G = stacked_mlp(copies, (TOY["z_dim"], h, h, 2), generators=generators)
        D = stacked_mlp(copies, (2, h, h, 1), generators=generators)
        return G, D
    if model == "vae":
        return vae.toy_vae(copies, TOY["latent"], h, generators=generators), None
    net = unet.ToyDenoiser(copies, TOY["diffusion_steps"], hidden=h, generators=generators)
    return diffusion.DDPM(net, diffusion.scaled_linear_schedule(TOY["diffusion_steps"]),
                          batch_ndim=2), None


def toy_sample(model, net, copies, n):
    """(copies, n, 2) samples in the networks' coordinates, on the host."""
    with minigan.no_grad():
        if model == "gan":
            return net(minigan.randn(copies, n, TOY["z_dim"])).numpy()
        if model == "vae":
            means = net.decode(minigan.randn(copies, n, TOY["latent"]))
            return (means + minigan.exp(net.log_scale) * minigan.randn(copies, n, 2)).numpy()
        return backend.to_numpy(net.sample((copies, n, 2)))


def train_toy(model, lr, steps, seed, copies, progress):
    """Train ``copies`` seeds of ``model`` at ``lr``; returns (net, samples (copies, N, 2) in
    data coordinates, CPU seconds)."""
    minigan.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net, D = toy_models(model, copies, seed)
    optimizers = [minigan.optim.Adam(net.parameters(), lr=lr, betas=TOY["betas"])]
    if D is not None:
        optimizers.append(minigan.optim.Adam(D.parameters(), lr=lr, betas=TOY["betas"]))
    started = time.process_time()
    for step in range(steps):
        factor = min(1.0, (steps - step) / (steps * TOY["decay"]))
        for optimizer in optimizers:
            optimizer.param_groups[0]["lr"] = lr * factor
        points, _ = toy.grid(copies * TOY["batch"], rng)
        real = minigan.tensor(points.reshape(copies, TOY["batch"], 2) * TOY_SCALE,
                              dtype="float32")
        if model == "gan":
            fake = net(minigan.randn(copies, TOY["batch"], TOY["z_dim"]))
            loss_d = copies * losses.discriminator_loss(D(real), D(fake.detach()))
            optimizers[1].zero_grad()
            loss_d.backward()
            optimizers[1].step()
            loss = copies * losses.generator_loss_nonsaturating(D(fake))
        elif model == "vae":
            loss = -copies * net.elbo(real).mean()
        else:
            loss = copies * net.loss(real)
        optimizers[0].zero_grad()
        loss.backward()
        optimizers[0].step()
        progress.update(loss=loss.item() / copies)
    seconds = time.process_time() - started
    return net, toy_sample(model, net, copies, TOY_SAMPLES) / TOY_SCALE, seconds


def score_error(ddpm, copies, rng, n=4000):
    """Per copy, E||eps_theta - eps*||^2 / E||eps*||^2 over t uniform and x_t ~ q_t, and
    the same per step t (for the figure), against the exact mixture score."""
    centres = TOY_CENTRES * TOY_SCALE
    points, _ = toy.grid(n, rng)
    x0 = points * TOY_SCALE
    t = rng.integers(0, ddpm.steps, n)
    abar = ddpm.host["abar"][t]
    x_t = np.sqrt(abar)[:, None] * x0 + np.sqrt(1 - abar)[:, None] * rng.standard_normal((n, 2))
    best = -np.sqrt(1 - abar)[:, None] * diffusion.mixture_score(x_t, centres, TOY_STD * TOY_SCALE,
                                                                 abar)
    with minigan.no_grad():
        inputs = minigan.tensor(np.repeat(x_t[None], copies, axis=0), dtype="float32")
        steps = backend.asarray(np.repeat(t[None], copies, axis=0))
        predicted = ddpm.net(inputs, steps).numpy().astype(np.float64)
    squared = ((predicted - best[None]) ** 2).sum(axis=2)            # (copies, n)
    relative = squared.mean(axis=1) / (best ** 2).sum(axis=1).mean()
    bins = np.linspace(0, ddpm.steps, 11).astype(int)
    by_step = [(squared[:, (t >= a) & (t < b)].mean() / (best[(t >= a) & (t < b)] ** 2).sum(axis=1)
                .mean()) for a, b in zip(bins[:-1], bins[1:])]
    return relative, (bins, np.array(by_step))


def run_toy(args):
    """Every model at every learning rate, ``args.toy_seeds`` seeds each; returns results,
    the samples of the middle learning rate and the score errors."""
    lrs = TOY_LRS if not args.quick else (1e-3,)
    results, samples, table = {}, {}, {}
    rng = np.random.default_rng(args.seed + 7)       # measuring only, apart from training
    score = None
    for model in ("gan", "vae", "diffusion"):
        for lr in lrs:
            progress = Progress(args.toy_steps, desc=f"grid {model} lr {lr:g}")
            net, points, seconds = train_toy(model, lr, args.toy_steps, args.seed, args.toy_seeds,
                                             progress)
            progress.close()
            stats = [mode_statistics(p, TOY_CENTRES, TOY_STD) for p in points]
            table[model, lr] = {"modes": [s.modes for s in stats],
                                "high quality": [s.high_quality for s in stats],
                                "cpu seconds": seconds}
            if lr == 1e-3:
                samples[model] = points
                if model == "diffusion":
                    score = score_error(net, args.toy_seeds, rng)
    for (model, lr), row in table.items():
        for key in ("modes", "high quality"):
            mean, error = mean_and_standard_error(row[key])
            results[f"grid {model} lr {lr:g}: {key}"] = round(mean, 3)
            results[f"grid {model} lr {lr:g}: {key} (standard error)"] = round(error, 3)
        results[f"grid {model} lr {lr:g}: CPU seconds"] = round(row["cpu seconds"], 1)
    for model in ("gan", "vae", "diffusion"):
        modes = [m for lr in lrs for m in table[model, lr]["modes"]]
        quality = [q for lr in lrs for q in table[model, lr]["high quality"]]
        results[f"grid {model}: modes, lowest over seeds and learning rates"] = int(min(modes))
        results[f"grid {model}: modes, spread (max - min) over seeds and learning rates"] = \
            int(max(modes) - min(modes))
        results[f"grid {model}: high quality, spread over seeds and learning rates"] = \
            round(max(quality) - min(quality), 3)
    relative, by_step = score
    results["grid diffusion: score error E||eps - eps*||^2 / E||eps*||^2 (mean over seeds)"] = \
        round(float(relative.mean()), 4)
    results["grid diffusion: score error, worst seed"] = round(float(relative.max()), 4)
    return results, samples, table, by_step


# %% [markdown]
# ## 4. The three models on Fashion-MNIST
#
# Three small models (their parameter counts differ: equal time is the budget, not equal
# size), trained on batches of one stream of the same data for about the same CPU time:
#
# * **GAN**: chapter 06's DCGAN at half width (G 534k parameters, D 37k; z of 64), the
#   non-saturating loss, Adam 2e-4, beta1 = 0.5.
# * **VAE**: the mirror of that pair (`vae.conv_vae28`: encoder 2 stride-2 convolutions, a
#   16-D latent, decoder 2 transposed convolutions), a learned noise scale per pixel, Adam
#   1e-3 on the negative ELBO. Its images are the decoder's means (as VAEs are shown); its
#   likelihood is of dequantised data, each pixel level k as the interval [k, k + 1) / 128 - 1.
# * **Diffusion**: DDPM (Ho et al. 2020) with epsilon-prediction and T = 100 steps
#   (`diffusion.scaled_linear_schedule`: beta from 1e-3 to 0.2, Ho et al.'s schedule
#   stretched so that abar_T is as small: 2e-5 here, 4e-5 theirs), a small U-Net
#   (`unet.SmallUNet`, width 16, 101k parameters: at 28 x 28 every channel costs, so it is
#   the narrowest), Adam 1e-3 on the simple loss, trained on dequantised data too.
#
# **The compute budget is CPU seconds.** One step of each costs differently (measured here
# on one thread: GAN 0.072 s, VAE 0.024 s, diffusion 0.147 s at batch 64), so each gets
# steps in proportion: per `--steps` of the schedule the VAE takes every one, the GAN one
# in three and the diffusion model one in six. The batches come from one stream; each model
# takes the batch of the steps it trains on. The CPU seconds each model actually spent are
# measured (`time.process_time`) and reported beside its results.


# %%
SHARES = {"gan": 1 / 3, "vae": 1.0, "diffusion": 1 / 6}
IMAGE_LRS = {"gan": 2e-4, "vae": 1e-3, "diffusion": 1e-3}


class Contenders(nn.Module):
    """The three image models as one module, the G that the Trainer saves."""

    def __init__(self, diffusion_steps=100):
        super().__init__()
        spec = models.generator_spec(models.dcgan28_generator, z_dim=64, width=32)
        self.gan = models.build(spec)
        self.vae = vae.conv_vae28(latent_dim=16, width=32)
        self.diffusion = diffusion.DDPM(unet.SmallUNet(width=16, steps=diffusion_steps),
                                        diffusion.scaled_linear_schedule(diffusion_steps))


class Ledger:
    """Each model's training steps and CPU seconds, kept in the checkpoint (``state_dict``)."""

    def __init__(self):
        self.steps = {name: 0 for name in SHARES}
        self.seconds = {name: 0.0 for name in SHARES}

    def state_dict(self):
        return {"steps": dict(self.steps), "seconds": dict(self.seconds)}

    def load_state_dict(self, state):
        self.steps, self.seconds = dict(state["steps"]), dict(state["seconds"])


def takes_step(name, step):
    """Whether model ``name`` trains at schedule step ``step`` (0-based): evenly spread, and
    every model at step 0."""
    share = SHARES[name]
    return math.floor(step * share) > math.floor((step - 1) * share)


def dequantized(batch):
    """The batch as continuous values (``vae.dequantize``) with U[0, 1) from minigan's rng."""
    return minigan.Tensor(vae.dequantize(batch.data, minigan.rand(*batch.shape).data))


def make_step(nets, D, optimizers, ledger, trainer_step, batch_size):
    opt_g, opt_d, opt_vae, opt_diffusion = optimizers

    def gan_step(real):
        fake = nets.gan(minigan.randn(batch_size, 64))
        loss_d = losses.discriminator_loss(D(real), D(fake.detach()))
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = losses.generator_loss_nonsaturating(D(fake))
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        return {"gan loss_d": loss_d.item(), "gan loss_g": loss_g.item()}

    def vae_step(real):
        loss = -nets.vae.elbo(dequantized(real)).mean()
        opt_vae.zero_grad()
        loss.backward()
        opt_vae.step()
        return {"vae bpd": float(vae.bits_per_dimension(loss.item(), 784))}

    def diffusion_step(real):
        loss = nets.diffusion.loss(dequantized(real))
        opt_diffusion.zero_grad()
        loss.backward()
        opt_diffusion.step()
        return {"diffusion loss": loss.item()}

    steps = {"gan": gan_step, "vae": vae_step, "diffusion": diffusion_step}
    last = {}

    def step(real):
        for name, one_step in steps.items():
            if takes_step(name, trainer_step()):
                started = time.process_time()
                last.update(one_step(real))
                ledger.seconds[name] += time.process_time() - started
                ledger.steps[name] += 1
        # a model that did not train at this step repeats its last values (all train at step 0)
        return dict(last)
    return step


# %% [markdown]
# ## Measuring
#
# During training the Trainer measures the two quick ones: the GAN's and the VAE's FID on
# `--fid-samples` images, the VAE's ELBO on test images in bits per dimension, and the
# diffusion model's simple loss on test images (its samples take T passes, so they wait for
# the end). At the end, on `--fid-samples` samples of each model against as many test images:
#
# * FID, precision and recall (k = 3) on chapter 05's feature network; the floor is FID of as
#   many held-out real images.
# * **sharpness**: the mean Sobel magnitude of the samples over that of real test images
#   (`minigan.metrics.image_quality.sharpness`, chapter 11's measure).
# * **class coverage**: the feature network's predicted class of each sample, the classes
#   that occur and the reverse KL of their shares from uniform (`minigan.metrics.classifier`).
# * **seconds per 1,000 samples** (CPU, one thread) and **peak memory** of one training step
#   and of drawing 100 samples (`tracemalloc`: the NumPy arrays' memory on the host; on a
#   GPU it sees only the host's share).
# * **likelihood**, in bits per dimension of the 256-level data (lower is better; the data's
#   entropy is below 8): the VAE's ELBO and its importance-weighted bound with k samples, the
#   diffusion model's variational bound (T + 1 terms, one x_t each), both on dequantised test
#   images; for the GAN, which has no density, chapter 03's Parzen-window estimate on its
#   samples, with its caveat: in 784 dimensions it measures little (Theis et al. 2016).


# %%
def make_evaluation(network, nets, reference, test_images, n):
    evaluation_images = minigan.tensor(test_images[:500])

    def evaluate(step):
        gan = features.image_scores(network, generate(nets.gan, n, 64), reference)
        decoded = np.concatenate([backend.to_numpy(nets.vae.sample((min(500, n - i),)))
                                  for i in range(0, n, 500)])
        vae_scores = features.image_scores(network, decoded, reference)
        with evaluating(nets.vae, nets.diffusion):
            elbo = nets.vae.elbo(dequantized(evaluation_images)).numpy().astype(np.float64)
            simple = nets.diffusion.loss(dequantized(evaluation_images)).item()
        return {"gan fid": gan["fid"], "vae fid": vae_scores["fid"],
                "vae elbo bpd": float(vae.bits_per_dimension(-elbo.mean(), 784)),
                "diffusion loss": simple}
    return evaluate


def draw(nets, name, n, batch=250):
    """n images of model ``name`` (N, 1, 28, 28) on the host, and the CPU seconds taken."""
    started = time.process_time()
    parts = []
    with evaluating(nets):
        for i in range(0, n, batch):
            count = min(batch, n - i)
            if name == "gan":
                parts.append(nets.gan(minigan.randn(count, 64)).numpy())
            elif name == "vae":
                parts.append(backend.to_numpy(nets.vae.sample((count,))))
            else:
                parts.append(backend.to_numpy(nets.diffusion.sample((count, 1, 28, 28),
                                                                    clip=(-1.0, 1.0))))
    return np.concatenate(parts), time.process_time() - started


def peak_memory(function):
    """The most host memory (MiB) that NumPy arrays held at once while ``function()`` ran."""
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1] / 2 ** 20
    finally:
        tracemalloc.stop()


def measure_images(args, nets, D, network, reference, test_images, train_images):
    n = args.fid_samples
    results, samples = {}, {}
    real = test_images[:n]
    batch = minigan.tensor(train_images[:64])

    def gan_losses():   # both of the GAN step's backward passes, on D's and on G's loss
        fake = nets.gan(minigan.randn(64, 64))
        losses.discriminator_loss(D(batch), D(fake.detach())).backward()
        losses.generator_loss_nonsaturating(D(fake)).backward()
    one_step = {"gan": gan_losses,
                "vae": lambda: (-nets.vae.elbo(dequantized(batch)).mean()).backward(),
                "diffusion": lambda: nets.diffusion.loss(dequantized(batch)).backward()}
    for name in ("gan", "vae", "diffusion"):
        images, seconds = draw(nets, name, n)
        samples[name] = images
        generated, probabilities = features.predict(network, images)
        scores = features.image_scores(network, images, reference)
        coverage = class_coverage(probabilities.argmax(axis=1), 10)
        results[f"{name}: FID"] = round(scores["fid"], 2)
        results[f"{name}: precision"] = round(scores["precision"], 3)
        results[f"{name}: recall"] = round(scores["recall"], 3)
        results[f"{name}: sharpness (real = 1)"] = round(sharpness(images, real), 3)
        results[f"{name}: classes covered"] = coverage.covered
        results[f"{name}: class reverse KL (nats)"] = round(coverage.reverse_kl, 3)
        results[f"{name}: CPU seconds per 1,000 samples"] = round(1000 * seconds / n, 2)
        # a step in training mode moves batch norm's running statistics: put them back
        saved = nets.state_dict(), D.state_dict()
        results[f"{name}: peak memory of a training step (MiB)"] = round(
            peak_memory(one_step[name]), 1)
        nets.load_state_dict(saved[0])
        D.load_state_dict(saved[1])
        with evaluating(nets):
            results[f"{name}: peak memory drawing 100 samples (MiB)"] = round(
                peak_memory(lambda: draw(nets, name, 100, batch=100)), 1)
        for module in (nets, D):
            module.zero_grad()
    # likelihoods, on dequantised test images never trained on
    likelihood_images = minigan.tensor(test_images[-args.likelihood_images:])
    with evaluating(nets):
        x = dequantized(likelihood_images)
        elbo = nets.vae.iwae_bound(x, k=1)
        iwae = nets.vae.iwae_bound(x, k=args.iwae_k)
        bound = nets.diffusion.variational_bound(x[:args.bound_images])
    results["vae: ELBO (bits/dim)"] = round(float(vae.bits_per_dimension(-elbo.mean(), 784)), 3)
    results[f"vae: IWAE bound, k = {args.iwae_k} (bits/dim)"] = round(
        float(vae.bits_per_dimension(-iwae.mean(), 784)), 3)
    results["diffusion: variational bound (bits/dim)"] = round(
        float(vae.bits_per_dimension(bound["total"].mean(), 784)), 3)
    for term in ("prior", "diffusion", "decoder"):
        results[f"diffusion: bound's {term} term (bits/dim, without the +7 of the scale)"] = \
            round(float(bound[term].mean() / (784 * math.log(2))), 3)
    parzen_samples, _ = draw(nets, "gan", args.parzen_samples, batch=500)
    noise = np.random.default_rng(args.seed + 3)
    held_out = [vae.dequantize(a, noise.random(a.shape)).reshape(len(a), -1)
                for a in (train_images[-500:], test_images[-args.likelihood_images:])]
    parzen = parzen_estimate(parzen_samples.reshape(len(parzen_samples), -1), *held_out)
    results["gan: Parzen estimate (bits/dim; not a bound, see the caveat)"] = round(
        float(vae.bits_per_dimension(-parzen["mean"], 784)), 3)
    results["gan: Parzen window sigma"] = round(parzen["sigma"], 3)
    return results, samples


# %%
def plot_samples(samples, real, count=36):
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(1, 4, figsize=(14, 3.9))
    titles = {"gan": "GAN (DCGAN)", "vae": "VAE (decoder means)",
              "diffusion": "diffusion (DDPM, T = 100)"}
    plots.show_grid(axes[0], real[:count], title="real test images", columns=6)
    for axis, (name, title) in zip(axes[1:], titles.items()):
        plots.show_grid(axis, samples[name][:count], title=title, columns=6)
    figure.tight_layout()
    return figure


def plot_toy(samples, copies):
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(copies, 3, figsize=(10, 3.3 * copies), squeeze=False)
    for column, name in enumerate(("gan", "vae", "diffusion")):
        for row in range(copies):
            axis = axes[row, column]
            axis.scatter(*TOY_CENTRES.T, s=30, color="black", marker="x")
            axis.scatter(*samples[name][row][:1000].T, s=2, alpha=0.5, color="tab:orange")
            stats = mode_statistics(samples[name][row], TOY_CENTRES, TOY_STD)
            axis.set_title(f"{name}, seed {row}: {stats.modes} mode"
                           f"{'' if stats.modes == 1 else 's'}, "
                           f"{100 * stats.high_quality:.0f}% high quality", fontsize=9)
            axis.set_xlim(-6, 6)
            axis.set_ylim(-6, 6)
            axis.set_aspect("equal")
    figure.tight_layout()
    return figure


def plot_score_error(by_step, steps):
    import matplotlib.pyplot as plt
    bins, errors = by_step
    figure, axis = plt.subplots(figsize=(6, 3.6))
    centres = (bins[:-1] + bins[1:]) / 2
    axis.plot(centres, errors, marker="o")
    axis.axhline(1, color="gray", linestyle=":", label="predicting eps = 0")
    axis.set_yscale("log")
    axis.set_xlabel(f"step t (of T = {steps}; small t: little noise)")
    axis.set_title("trained noise network vs the exact one\nE||eps_theta - eps*||^2 / "
                   "E||eps*||^2 (3 seeds)")
    axis.legend(fontsize=8)
    figure.tight_layout()
    return figure


def plot_training(evaluations):
    import matplotlib.pyplot as plt
    steps = [e["step"] for e in evaluations]
    figure, axes = plt.subplots(1, 3, figsize=(14, 3.6))
    axes[0].plot(steps, [e["gan fid"] for e in evaluations], marker="o", label="GAN")
    axes[0].plot(steps, [e["vae fid"] for e in evaluations], marker="o", label="VAE")
    axes[0].set_yscale("log")
    axes[0].set_title("FID to test images (own features)")
    axes[1].plot(steps, [e["vae elbo bpd"] for e in evaluations], marker="o", label="VAE")
    axes[1].set_title("VAE: -ELBO of test images (bits/dim)")
    axes[2].plot(steps, [e["diffusion loss"] for e in evaluations], marker="o",
                 label="diffusion")
    axes[2].set_title("diffusion: simple loss on test images")
    figure = plots.over_training(figure, axes)
    for axis in axes:   # the schedule's steps: the VAE's own; the GAN takes 1 in 3, DDPM 1 in 6
        axis.set_xlabel("step of the schedule (VAE steps; GAN 1/3 of them, diffusion 1/6)")
    return figure


# %%
def parts_argument(text):
    parts = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PARTS]
    if not parts or unknown:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated list of {', '.join(PARTS)}, got {text!r}")
    return parts


def add_arguments(parser):
    parser.add_argument("--parts", type=parts_argument, default=",".join(PARTS),
                        help="which parts to run: closed-form, toy, images (default all)")
    parser.add_argument("--batch", type=experiment.whole_number(2), default=64)
    parser.add_argument("--toy-steps", type=experiment.whole_number(1), default=None,
                        help="training steps of each toy model (default 2000, quick 600)")
    parser.add_argument("--toy-seeds", type=experiment.whole_number(1), default=3,
                        help="seeds of each toy model, trained side by side (default 3)")
    parser.add_argument("--likelihood-images", type=experiment.whole_number(1, 5000),
                        default=None, help="test images for the likelihoods (default 500, "
                                           "quick 100)")
    parser.add_argument("--bound-images", type=experiment.whole_number(1), default=None,
                        help="of those, for the diffusion model's bound (default 100, quick 20)")
    parser.add_argument("--iwae-k", type=experiment.whole_number(1), default=None,
                        help="importance samples of the IWAE bound (default 64, quick 8)")
    parser.add_argument("--parzen-samples", type=experiment.whole_number(1), default=None,
                        help="GAN samples for the Parzen window (default 5000, quick 500)")


def fill_in(args):
    quick = args.quick
    for name, default, small in (("toy_steps", 2000, 600), ("likelihood_images", 500, 100),
                                 ("bound_images", 100, 20), ("iwae_k", 64, 8),
                                 ("parzen_samples", 5000, 500)):
        if getattr(args, name) is None:
            setattr(args, name, small if quick else default)
    args.bound_images = min(args.bound_images, args.likelihood_images)


def run_images(args, run, results):
    network, accuracy = features.load_feature_classifier("fashion-mnist",
                                                         cache_root=args.feature_cache)
    reference, floor_fid = features.reference_and_floor(network, args.fid_samples)
    train_images, _ = data.load("fashion-mnist", "train")
    test_images, _ = data.load("fashion-mnist", "test")
    minigan.manual_seed(args.seed)
    nets, D = Contenders(), models.dcgan28_discriminator(width=32)
    opt_g = minigan.optim.Adam(nets.gan.parameters(), lr=IMAGE_LRS["gan"], betas=(0.5, 0.999))
    opt_d = minigan.optim.Adam(D.parameters(), lr=IMAGE_LRS["gan"], betas=(0.5, 0.999))
    opt_vae = minigan.optim.Adam(nets.vae.parameters(), lr=IMAGE_LRS["vae"])
    opt_diffusion = minigan.optim.Adam(nets.diffusion.parameters(), lr=IMAGE_LRS["diffusion"])
    ledger = Ledger()
    holder = {}
    step_fn = make_step(nets, D, (opt_g, opt_d, opt_vae, opt_diffusion), ledger,
                        lambda: holder["trainer"].step, args.batch)
    trainer = Trainer(step_fn, data.Batches(train_images, batch_size=args.batch, seed=args.seed),
                      args.steps, run, G=nets, D=D, opt_g=opt_g, opt_d=opt_d, log_every=20,
                      checkpoint_every=args.checkpoint_every,
                      evaluate_fn=make_evaluation(network, nets, reference, test_images,
                                                  args.fid_samples),
                      evaluate_every=args.evaluate_every, resume=args.resume,
                      extra_state={"opt_vae": opt_vae, "opt_diffusion": opt_diffusion,
                                   "ledger": ledger})
    holder["trainer"] = trainer
    if trainer.finished:
        return None
    evaluations = trainer.fit()
    measured, samples = measure_images(args, nets, D, network, reference, test_images,
                                       train_images)
    counts = {name: sum(p.data.size for p in module.parameters()) for name, module in
              (("gan", nets.gan), ("gan D", D), ("vae", nets.vae), ("diffusion", nets.diffusion))}
    results["feature network test accuracy"] = round(accuracy, 4)
    results["FID of held-out real images (the floor)"] = round(floor_fid, 2)
    results["images per measurement"] = args.fid_samples
    for name in SHARES:
        results[f"{name}: training steps"] = ledger.steps[name]
        results[f"{name}: training CPU seconds"] = round(ledger.seconds[name], 1)
    results.update({f"{name}: parameters": count for name, count in counts.items()})
    results.update(measured)
    run.savefig(plot_samples(samples, test_images), "samples",
                "real test images and each model's samples (the first 36)")
    run.savefig(plot_training(evaluations), "training", "the Trainer's evaluations")
    return results


def main(argv=None):
    args = experiment.parse_args("16_gan_vae_diffusion", argv, steps=3000, quick_steps=120,
                                 add_arguments=add_arguments,
                                 image_training=experiment.ImageTraining(
                                     evaluations=3, fid_samples=500, quick_fid_samples=100),
                                 description="Chapter 16: GAN, VAE and diffusion, measured")
    fill_in(args)
    run = experiment.Run("16_gan_vae_diffusion", args,
                         title="Chapter 16: GAN, VAE and diffusion, measured on one engine")
    results = {}
    if "closed-form" in args.parts:
        results.update(check_elbo(args.seed, steps=1500))
        results.update(check_forward_marginal(args.seed))
    if "toy" in args.parts:
        toy_results, toy_samples, _, by_step = run_toy(args)
        results.update(toy_results)
        run.savefig(plot_toy(toy_samples, args.toy_seeds), "grid",
                    "the grid of 25 Gaussians: 1,000 of each model's samples, lr 1e-3, each seed")
        run.savefig(plot_score_error(by_step, TOY["diffusion_steps"]), "score_error",
                    "the trained noise network against the exact score, by step t")
    if "images" in args.parts:
        image_results = run_images(args, run, results)
        if image_results is None:
            return run.already_finished(args.steps)
        results = image_results
    run.finish(results, notes="FID is on minigan's own feature network, not Inception's. "
                              "Bits per dimension are of the 256-level data, through "
                              "dequantisation; the GAN's Parzen figure is no bound.")
    return results


if __name__ == "__main__":
    experiment.command_line(main)
