# %% [markdown]
# # Chapter 13: a small StyleGAN at 32x32
#
# In every generator so far z went in at the bottom and was transformed layer by layer,
# so whatever z meant had to survive every layer. Karras, Laine & Aila (2019) turned
# this round. The synthesis network starts from a *learned constant*, and z reaches it
# from the side: a mapping network turns z into w, and at every layer w sets the mean
# and standard deviation of each feature map (adaptive instance norm, AdaIN). Each layer
# thus has its own style input, which lets us give different layers different w's
# (style mixing) and pull w towards the average (the truncation trick). Per-layer noise
# images add the detail that no style should have to carry.
#
# We build it small: 32x32 grey garments (Fashion-MNIST padded from 28 with the
# background value -1), six style layers at 4, 4, 8, 8, 16 and 32 pixels, the
# non-saturating loss with the R1 penalty. Then we check what the paper shows: the
# coarse layers decide the garment, the fine ones mostly its finish.
#
# Run: `python chapters/13_stylegan/stylegan.py`
# (minutes on two cores; `--quick` for a first look; `--resume --out DIR` continues).

# %%
import numpy as np

import minigan
import minigan.nn.functional as F
from minigan import backend, data, experiment, models, plots
from minigan.gan import losses
from minigan.gan.penalties import r1_penalty
from minigan.metrics import features
from minigan.metrics.fid import fid
from minigan.metrics.precision_recall import precision_recall
from minigan.training import Trainer, evaluating

# %% [markdown]
# ## The generator (`minigan.models.StyleGenerator32`)
#
#     mapping    z (64) -> z / sqrt(mean(z^2) + 1e-8) -> 4 x [Linear(64, 64) + LeakyReLU]  = w
#     synthesis  constant (64, 4, 4)
#                layers 0, 1  4x4:             conv3x3(64, 64), + noise, LeakyReLU, AdaIN(w_i)
#                layers 2, 3  8x8:   [upsample], conv3x3(64, 64), + noise, LeakyReLU, AdaIN(w_i)
#                layer 4      16x16:  upsample,  conv3x3(64, 32), + noise, LeakyReLU, AdaIN(w_4)
#                layer 5      32x32:  upsample,  conv3x3(32, 32), + noise, LeakyReLU, AdaIN(w_5)
#                tanh(conv1x1(32, 1))                                           (1, 32, 32)
#
# AdaIN standardises each feature map of each sample and gives it a scale and a bias
# computed from that layer's w by a Linear (`nn.AdaIN`):
#
#     AdaIN(x, w)[n, c] = s_c(w_n) (x[n, c] - mean(x[n, c])) / std(x[n, c]) + b_c(w_n)
#
# The standardisation wipes out the statistics the previous style set, so each style
# controls its own layer only: that is what makes styles of different layers
# exchangeable. The noise is one fresh N(0, 1) image per sample and layer, added to
# every channel with a learned per-channel scale (starting at 0). Upsampling is nearest
# neighbour followed by a 3x3 convolution, which has no checkerboard (chapter 01). As in
# StyleGAN there are two style layers at 4x4 and at 8x8; at 16x16 and 32x32, where a
# convolution costs 4 and 16 times more, we keep one. The four layers at 4x4 and 8x8
# hold the *coarse* styles, the one at 16x16 the *middle* style, the one at 32x32 the
# *fine* one (below).
#
# The discriminator (`minigan.models.StyleDiscriminator32`) is DCGAN's strided
# convolutions without batch norm: Conv(1, 64) -> Conv(64, 128) -> Conv(128, 128), each
# 4x4 with stride 2 and LeakyReLU(0.2) (32 -> 16 -> 8 -> 4), then a Linear to one logit.
# Batch norm would mix the examples, and R1 penalises each example's own gradient.
# (A first version, 3x3 convolutions with average pooling and 32-64 channels, was too
# weak: D stayed at 1/2 while G drew blobs.) 235,041 parameters in G (16,640 of them in
# the mapping network), 396,609 in D.


# %%
def make_models(z_dim, w_dim):
    spec = models.generator_spec(models.StyleGenerator32, z_dim=z_dim, w_dim=w_dim)
    return models.build(spec), models.StyleDiscriminator32(), spec


# %% [markdown]
# ## 28 to 32, and back
#
# The synthesis doubles 4 three times, so the images are 32x32. Fashion-MNIST's are
# 28x28 with a black background, -1 after scaling to [-1, 1]; we pad two pixels of -1
# on every side (`F.pad`), which adds more background and nothing else. The feature
# network of chapter 05 was trained on 28x28 images, so before measuring we crop the
# central 28x28 back out of G's output. (G learns that the border is background; what
# it draws there is not measured.)


# %%
def pad_to_32(images):
    return F.pad(images, (2, 2, 2, 2), value=-1.0)


def crop_to_28(images):
    return images[:, :, 2:30, 2:30]


# %% [markdown]
# ## Style mixing
#
# If every layer always got the same w, the network could spread one decision over
# several layers (the class partly in layer 0, partly in layer 2), and swapping one
# layer's style would give something incoherent. Style mixing regularisation forbids
# that: for 90% of the batches (StyleGAN's share) we draw two latents z1, z2, map both,
# pick a crossover k in 1..5 at random, and give layers 0..k-1 the style w1 and layers
# k..5 the style w2. D sees those images like any others, so each layer must make
# sense whatever w the others were given.


# %%
def mixed_styles(w1, w2, crossover, num_layers):
    """One style per layer: w1 for the layers before ``crossover``, w2 from it on."""
    return [w1 if layer < crossover else w2 for layer in range(num_layers)]


def styles_for_batch(G, batch_size, mixing_probability):
    """w for every layer of one batch, mixed from two latents with the given probability;
    the running mean w_avg is updated with the first latent's w (a training step only)."""
    w1 = G.mapping(minigan.randn(batch_size, G.z_dim))
    G.update_w_avg(w1)
    # Two numbers per step decide the mixing; on a GPU each is a (small) copy to the host.
    if float(backend.to_numpy(backend.rng().random())) >= mixing_probability:
        return [w1] * G.num_layers
    w2 = G.mapping(minigan.randn(batch_size, G.z_dim))
    crossover = int(backend.to_numpy(backend.rng().integers(1, G.num_layers)))   # 1 .. layers - 1
    return mixed_styles(w1, w2, crossover, G.num_layers)


# %% [markdown]
# ## The losses: non-saturating, with R1
#
# G minimises -log D(G(z)) as in chapter 06. D minimises the cross-entropy plus the R1
# penalty of Mescheder et al. (2018) on the real images:
#
#     R1 = gamma / 2 E_data[ ||grad_x D(x)||^2 ]
#
# which keeps D flat on the data, so G is not pushed around by gradients that lead
# nowhere once it matches the data; it is a function of a gradient, so D's update needs
# the gradient of a gradient (`minigan.gan.penalties.r1_penalty`, with the engine's
# double backprop). StyleGAN used gamma = 10 on 1024x1024 faces; the right value
# depends on the data and the image size. StyleGAN2-ADA's rule of thumb, found by trial
# across their data sets, is gamma = 0.0002 * side^2 / batch: 0.0064 at 32x32 with batch
# 32, and they used 0.01 on CIFAR-10 (32x32). We take gamma = 0.01 (`--gamma`); a run
# with 0.1 was not better (README). The Adam settings are
# StyleGAN's (beta1 = 0, beta2 = 0.99), with lr 1e-3 for both networks; the mapping
# network gets a hundredth of it, as in StyleGAN, so that w changes slowly.


# %%
def make_step(G, D, opt_g, opt_d, batch_size, gamma, mixing_probability):
    def step(batch):
        real = pad_to_32(batch).detach().requires_grad_()
        fake = G.synthesis(styles_for_batch(G, batch_size, mixing_probability))
        real_logits, fake_logits = D(real), D(fake.detach())
        loss_d = losses.discriminator_loss(real_logits, fake_logits)
        penalty = r1_penalty(real_logits, real, gamma=gamma)
        opt_d.zero_grad()
        (loss_d + penalty).backward()
        opt_d.step()
        loss_g = losses.generator_loss_nonsaturating(D(fake))
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        return {"loss_d": loss_d, "loss_g": loss_g, "r1": penalty,
                "d_real": F.sigmoid(real_logits).mean(),
                "d_fake": F.sigmoid(fake_logits).mean()}
    return step


# %% [markdown]
# ## The truncation trick
#
# Regions of W that the training rarely visited draw poor images. Karras et al. pull
# every w towards the average style,
#
#     w' = w_avg + psi (w - w_avg),        0 <= psi <= 1,
#
# with w_avg the running mean of the mapped w's over training (a buffer of G, updated
# at every step with weight 0.005). psi = 1 is the generator as trained; psi = 0 gives
# every z the same image (the "average garment"). In between, quality should rise and
# diversity fall: we measure FID, precision and recall (noise on, as G samples), and the
# mean pixel distance between pairs of samples (noise off, so only w varies).


# %%
def generate(G, n, psi=1.0, noise=True, batch=500):
    with evaluating(G):
        return np.concatenate([G(minigan.randn(min(batch, n - i), G.z_dim), psi=psi,
                                 noise=noise).numpy() for i in range(0, n, batch)])


def mean_pairwise_distance(images):
    """The mean Euclidean distance between the images of the pairs (0, 1), (2, 3), ..."""
    flat = images.reshape(len(images), -1)
    return float(np.linalg.norm(flat[0::2] - flat[1::2], axis=1).mean())


def measure(network, G, reference, n, psi=1.0):
    generated = features.predict(network, crop_to_28(generate(G, n, psi)))[0]
    pr = precision_recall(reference, generated)
    return {"fid": fid(generated, reference), "precision": pr.precision, "recall": pr.recall}


def truncation_sweep(network, G, reference, n, psis):
    rows = []
    for psi in psis:
        row = {"psi": psi, **measure(network, G, reference, n, psi)}
        row["pairwise distance"] = mean_pairwise_distance(generate(G, n, psi, noise=False))
        rows.append(row)
    return rows


# %% [markdown]
# ## What do the coarse, the middle and the fine styles decide?
#
# StyleGAN's paper sorts the styles into three groups by resolution: coarse (4x4 to
# 8x8: pose, general shape), middle (16x16 to 32x32: smaller features) and fine (64x64
# and up: colours and microstructure). Our four resolutions take the same three roles,
# one step down: coarse are the layers at 4x4 and 8x8 (0-3), middle the one at 16x16
# (4), fine the one at 32x32 (5).
#
# For pairs of latents (A, B), noise off, we draw A's image, B's image, and for each
# group A's image with that group's styles taken from B. The own classifier of chapter
# 05 names the class of each. If the coarse layers set the layout, swapping the fine
# styles keeps A's class in most pairs, and swapping the coarse ones gives A's image
# B's class much more often than it keeps A's.


# %%
def style_groups(G):
    """The layer numbers of the coarse (4x4, 8x8), middle (16x16) and fine (32x32) styles."""
    sides = {"coarse": (4, 8), "middle": (16,), "fine": (32,)}
    return {name: [i for i, side in enumerate(G.sides) if side in group]
            for name, group in sides.items()}


def swapped_styles(w_a, w_b, layers, num_layers):
    """A's style in every layer but those in ``layers``, which get B's."""
    return [w_b if i in layers else w_a for i in range(num_layers)]


def class_agreement(network, G, pairs):
    def classes(styles):
        image = G.synthesis(styles, noise=False).numpy()
        return features.predict(network, crop_to_28(image))[1].argmax(axis=1)

    n = G.num_layers
    with evaluating(G):
        w_a = G.mapping(minigan.randn(pairs, G.z_dim))
        w_b = G.mapping(minigan.randn(pairs, G.z_dim))
        a, b = classes([w_a] * n), classes([w_b] * n)
        swapped = {name: classes(swapped_styles(w_a, w_b, layers, n))
                   for name, layers in style_groups(G).items()}
    result = {f"{name} swapped, class kept": float(np.mean(predicted == a))
              for name, predicted in swapped.items()}
    result["coarse swapped, class of B"] = float(np.mean(swapped["coarse"] == b))
    result["A and B of one class"] = float(np.mean(a == b))
    return result


# %% [markdown]
# ## Measuring over training
#
# The Trainer evaluates G at step 0, every `--evaluate-every` steps (by default a sixth of
# the run; with `--quick` none in between) and at the end, on a random stream of its own:
# FID, precision and recall at psi = 1 against `--fid-samples` test images, the class
# check above on `--pairs` pairs of latents, and G's images of one fixed set of z, to
# watch them change.


# %%
def make_evaluation(network, G, reference, n, pairs, fixed_z):
    def evaluate(step):
        with evaluating(G):
            samples = G(fixed_z).numpy()
        return {**measure(network, G, reference, n), **class_agreement(network, G, pairs),
                "samples": samples}
    return evaluate


# %%
def plot_mixing(G, n=6):
    """Three panels, one per style group: row i, column j is A_i's image with that
    group's styles taken from B_j (the sources in the first column and row)."""
    import matplotlib.pyplot as plt
    layers = G.num_layers
    groups = style_groups(G)
    with evaluating(G):
        w_a = G.mapping(minigan.randn(n, G.z_dim))
        w_b = G.mapping(minigan.randn(n, G.z_dim))
        a = G.synthesis([w_a] * layers, noise=False).numpy()
        b = G.synthesis([w_b] * layers, noise=False).numpy()
        panels = {}
        for name, group in groups.items():
            # An (n + 1) x (n + 1) grid: the sources in the first row and column.
            cells = np.full((n + 1, n + 1) + a.shape[1:], -1.0, dtype=np.float32)
            cells[0, 1:], cells[1:, 0] = b, a
            for i in range(n):
                row_a = w_a[np.full(n, i)]          # A_i's style, once for each column
                cells[i + 1, 1:] = G.synthesis(swapped_styles(row_a, w_b, group, layers),
                                               noise=False).numpy()
            panels[name] = cells.reshape((-1,) + a.shape[1:])
    figure, axes = plt.subplots(1, 3, figsize=(16, 5.8))
    for axis, (name, cells) in zip(axes, panels.items()):
        sides = sorted({G.sides[i] for i in groups[name]})
        where = ", ".join(f"{s}x{s}" for s in sides)
        plots.show_grid(axis, cells, columns=n + 1,
                        title=f"{name} styles ({where}) from the column's B,\n"
                              f"the others from the row's A")
        axis.set_xlabel("source B (top row)")
        axis.set_ylabel("source A (left column)")
    figure.tight_layout()
    return figure


def plot_truncation(G, sweep, floor, columns=8):
    import matplotlib.pyplot as plt
    psis = [row["psi"] for row in sweep]
    z = minigan.randn(columns, G.z_dim)
    with evaluating(G):
        images = np.concatenate([G(z, psi=psi, noise=False).numpy() for psi in psis])
    figure, axes = plt.subplots(1, 3, figsize=(16, 4.4), gridspec_kw={"width_ratios": [1.3, 1, 1]})
    plots.show_grid(axes[0], images, columns=columns,
                    title="one z per column; psi = " + ", ".join(f"{p:g}" for p in psis)
                          + " from the top")
    axes[1].plot(psis, [row["fid"] for row in sweep], marker="o", label="generated")
    axes[1].axhline(floor, color="gray", linestyle=":", label="held-out real images")
    axes[1].set_yscale("log")
    axes[1].set_title("FID to the test images (lower is better)")
    axes[1].legend(fontsize=8)
    axes[2].plot(psis, [row["precision"] for row in sweep], marker="o", label="precision")
    axes[2].plot(psis, [row["recall"] for row in sweep], marker="o", label="recall")
    top = max(row["pairwise distance"] for row in sweep) or 1.0
    axes[2].plot(psis, [row["pairwise distance"] / top for row in sweep], marker="o",
                 linestyle="--", label="pairwise distance / its maximum")
    axes[2].set_ylim(-0.03, 1.03)
    axes[2].set_title("quality against diversity")
    axes[2].legend(fontsize=8)
    for axis in axes[1:]:
        axis.set_xlabel("psi")
    figure.tight_layout()
    return figure


def plot_training(evaluations, floor):
    import matplotlib.pyplot as plt
    steps = [e["step"] for e in evaluations]
    figure, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    axes[0].plot(steps, [e["fid"] for e in evaluations], marker="o", label="StyleGAN, psi = 1")
    axes[0].axhline(floor, color="gray", linestyle=":", label="held-out real images")
    axes[0].set_yscale("log")
    axes[0].set_title("FID to the test images (own features, centre 28x28)")
    for name in ("fine", "middle", "coarse"):
        axes[1].plot(steps, [e[f"{name} swapped, class kept"] for e in evaluations],
                     marker="o", label=f"{name} styles swapped")
    axes[1].set_ylim(0, 1.02)
    axes[1].set_title("share of images whose class is kept")
    return plots.over_training(figure, axes)


# %%
def add_arguments(parser):
    parser.add_argument("--batch", type=experiment.whole_number(1), default=32)
    parser.add_argument("--lr", type=experiment.number(above=0), default=1e-3)
    parser.add_argument("--beta1", type=experiment.number(minimum=0, below=1), default=0.0,
                        help="Adam's beta1 (default 0)")
    parser.add_argument("--gamma", type=experiment.number(minimum=0), default=0.01,
                        help="R1 weight (default 0.01)")
    parser.add_argument("--mixing", type=experiment.number(minimum=0, maximum=1), default=0.9,
                        help="share of batches with two styles (default 0.9)")
    parser.add_argument("--z-dim", type=experiment.whole_number(1), default=64)
    parser.add_argument("--pairs", type=experiment.whole_number(1), default=None,
                        help="latent pairs for the style-mixing check (default 500)")


PSIS = (0.0, 0.25, 0.5, 0.75, 1.0)


def main(argv=None):
    args = experiment.parse_args("13_stylegan", argv, steps=1200, quick_steps=450,
                                 add_arguments=add_arguments,
                                 image_training=experiment.ImageTraining(
                                     evaluations=6, quick_evaluations=1,   # quick: the end only
                                     fid_samples=1000, quick_fid_samples=300),
                                 description="Chapter 13: a small StyleGAN at 32x32")
    args.pairs = args.pairs or 500
    run = experiment.Run("13_stylegan", args, title="Chapter 13: a small StyleGAN at 32x32")
    network, accuracy = features.load_feature_classifier("fashion-mnist",
                                                         cache_root=args.feature_cache)
    reference, floor_fid = features.reference_and_floor(network, args.fid_samples)
    train_images, _ = data.load("fashion-mnist", "train")

    G, D, spec = make_models(args.z_dim, args.z_dim)
    mapping = set(id(p) for p in G.mapping.parameters())
    opt_g = minigan.optim.Adam(
        [{"params": [p for p in G.parameters() if id(p) not in mapping]},
         {"params": list(G.mapping.parameters()), "lr": args.lr / 100}],
        lr=args.lr, betas=(args.beta1, 0.99))
    opt_d = minigan.optim.Adam(D.parameters(), lr=args.lr, betas=(args.beta1, 0.99))
    fixed_z = minigan.randn(36, args.z_dim)
    # w_avg, the centre of the truncation trick, is a buffer of G: the checkpoint holds it.
    trainer = Trainer(make_step(G, D, opt_g, opt_d, args.batch, args.gamma, args.mixing),
                      data.Batches(train_images, batch_size=args.batch, seed=args.seed),
                      args.steps, run, G=G, D=D, opt_g=opt_g, opt_d=opt_d, spec=spec,
                      log_every=10, checkpoint_every=args.checkpoint_every,
                      evaluate_fn=make_evaluation(network, G, reference, args.fid_samples,
                                                  args.pairs, fixed_z),
                      evaluate_every=args.evaluate_every, resume=args.resume)
    if trainer.finished:
        return run.already_finished(trainer.step)
    evaluations = trainer.fit()
    # What follows draws from the training stream where training left it, which a resumed
    # run restores: the same figures and numbers as a run that never stopped.
    sweep = truncation_sweep(network, G, reference, args.fid_samples, PSIS)
    with evaluating(G):
        same = G(minigan.randn(64, args.z_dim), psi=0.0, noise=False).numpy()

    run.savefig(plots.grids_over_training(
        {e["step"]: e["samples"] for e in evaluations},
        "Samples of one fixed set of z over training (psi = 1, 32x32)"), "samples",
        "samples of a fixed z over training")
    run.savefig(plot_mixing(G), "style_mixing",
                "style mixing: the coarse, middle or fine styles from another latent")
    run.savefig(plot_truncation(G, sweep, floor_fid), "truncation",
                "the truncation trick: images, FID, precision, recall and diversity against psi")
    run.savefig(plot_training(evaluations, floor_fid), "training",
                "FID and the style-mixing check over training")
    first, last = evaluations[0], evaluations[-1]
    results = {"feature network test accuracy": round(accuracy, 4),
               "FID at step 0": round(first["fid"], 2),
               "FID at the end": round(last["fid"], 2),
               "precision at the end": round(last["precision"], 3),
               "recall at the end": round(last["recall"], 3),
               "FID of held-out real images (the floor)": round(floor_fid, 2),
               "fine swapped, class kept": round(last["fine swapped, class kept"], 3),
               "middle swapped, class kept": round(last["middle swapped, class kept"], 3),
               "coarse swapped, class kept": round(last["coarse swapped, class kept"], 3),
               "coarse swapped, class of B": round(last["coarse swapped, class of B"], 3),
               "A and B of one class": round(last["A and B of one class"], 3),
               "psi = 0: largest difference between samples (noise off)":
                   float(np.abs(same - same[:1]).max())}
    for row in sweep:
        for name in ("fid", "precision", "recall", "pairwise distance"):
            results[f"psi {row['psi']:g}: {name}"] = round(row[name], 4)
    results.update({"images per FID": args.fid_samples, "latent pairs": args.pairs,
                    "steps": trainer.step,
                    "training seconds (this session)": round(trainer.seconds, 1)})
    run.finish(results, notes="FID, precision, recall and the classes are measured with "
                              "minigan's own feature network (chapter 05), not Inception, on "
                              "the central 28x28 of the 32x32 images: comparable only within "
                              "minigan.")
    return results


if __name__ == "__main__":
    experiment.command_line(main)
