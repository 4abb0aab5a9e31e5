# %% [markdown]
# # Chapter 11: pix2pix, paired image-to-image translation
#
# Every GAN so far drew from noise. Isola, Zhu, Zhou & Efros (2017) asked a GAN to
# *translate*: given an input image x (an edge map, a label map, a daytime photo), draw
# the output y that goes with it (the photo, the street, the night). The training data
# are pairs (x, y). The obvious way is regression: a network G(x) trained to minimise
# the L1 distance |G(x) - y|. It works, and its pictures are blurred. pix2pix keeps
# the L1 term and adds a conditional GAN: a discriminator D(x, y) that sees the input
# together with a real or a generated output, and judges, patch by patch, whether the
# output is a real one for this input. The generator minimises
#
#     L_cGAN(G, D) + lambda L1(G),   lambda = 100,
#
#     L_cGAN = E_(x,y)[log D(x, y)] + E_x[log(1 - D(x, G(x)))]    (D maximises it)
#     L1     = E_(x,y)[ |y - G(x)| ]   (the mean over pixels)
#
# with the GAN term in its non-saturating form -log D(x, G(x)) (chapter 02).
#
# Here the task is edges to garments: the input is the edge map of a Fashion-MNIST
# image, the output the garment. We train the same U-Net twice, side by side, on the
# same batches from the same initial weights: once with L1 alone, once with pix2pix's
# objective. Then we measure both against the true test images: the L1 distance, and
# FID on chapter 05's own feature network.
#
# Run: `python chapters/11_pix2pix/pix2pix.py` (minutes on
# two cores; `--quick` for a first look; `--resume --out DIR` continues a killed run).

# %%
import numpy as np

import minigan
import minigan.nn.functional as F
from minigan import backend, data, experiment, models, nn, plots
from minigan.data.edges import EDGE_THRESHOLD, edge_map, sobel_magnitude
from minigan.gan import losses
from minigan.metrics import features
from minigan.metrics.fid import fid
from minigan.training import Trainer, evaluating

# %% [markdown]
# ## The input: edges by a Sobel filter
#
# The Sobel filter estimates the image's derivative across and down the image with two
# 3x3 kernels, each a difference in one direction smoothed by [1, 2, 1] in the other:
#
#     Sx = [[-1, 0, 1],     Sy = Sx^T,     |grad I| = sqrt((Sx * I)^2 + (Sy * I)^2)
#           [-2, 0, 2],
#           [-1, 0, 1]]
#
# We compute it with the engine's own `F.conv2d` (chapter 01's cross-correlation):
# both kernels as the two output channels of one convolution, on whatever device the
# images are, CPU or GPU, with no second library. (`scipy.ndimage.sobel` computes the
# same derivatives; the chapter's test checks the two against each other.) The padding
# is zeros, which is the background's value on the [0, 1] scale, so the border of the
# 28x28 frame is no edge.
#
# A step from 0 to h between two neighbouring pixels gives |grad I| = 4h at both of
# them (the kernel's weights 1 + 2 + 1). We call a pixel an edge where |grad I| > 1.5,
# a step of 3/8 of the grey range: about a fifth of the pixels. This keeps the
# outlines and the strongest inner lines (collars, zips, a print) and drops the weave
# of the fabric; a lower threshold (0.5) fills whole garments with "edges", a higher
# one (2) breaks the outlines of dark garments. The edge map is binary, edges +1 and
# the rest -1 (the scale of the images and of G's tanh), so it says *where* lines are
# and nothing about the brightness between them: how light a shirt is, which pattern
# it has, the input does not say. That is what makes the translation uncertain, and
# where L1 and the GAN part ways.
#
# The code is in the library, `minigan/data/edges.py` (`sobel_magnitude`, `edge_map`,
# `EDGE_THRESHOLD`, imported above), because chapter 12 translates the same edge maps.

# %% [markdown]
# ## The two networks (`minigan.models.UNet28`, `PatchDiscriminator28`)
#
#     G, a U-Net:   x (1, 28, 28)
#                   e1 = Conv(1, 32, 4, 2, 1) + LeakyReLU(0.2)               (32, 14, 14)
#                   e2 = Conv(32, 64, 4, 2, 1) + BN + LeakyReLU(0.2)         (64, 7, 7)
#                   b  = Conv(64, 128, 3, 1, 1) + BN + ReLU                  (128, 7, 7)
#                   d2 = ConvT(128 + 64, 32, 4, 2, 1) + BN + ReLU  on [b, e2]  (32, 14, 14)
#                   y  = ConvT(32 + 32, 1, 4, 2, 1) + Tanh         on [d2, e1] (1, 28, 28)
#     D, PatchGAN:  [x, y] (2, 28, 28)
#                   -> Conv(2, 64, 4, 2, 1) + LeakyReLU(0.2)                 (64, 14, 14)
#                   -> Conv(64, 128, 4, 2, 1) + BN + LeakyReLU(0.2)          (128, 7, 7)
#                   -> Conv(128, 1, 3, 1, 1)                                 (1, 7, 7) logits
#
# [a, b] is concatenation along the channels. The U-Net's *skip connections* hand the
# encoder's maps of each size to the decoder's layer of the same size: the input's
# edges are where the output's contours must be, and they reach the last layer without
# passing the 7x7 bottleneck. D's first layer sees the input and an output as one
# two-channel image, so it judges the pair; its 7 x 7 logits each see an 18 x 18 patch
# (exercise 11.2), so the GAN term asks every patch to look real and leaves the
# picture's layout to L1, which already gets it right.
#
# **Batch norm, not instance norm.** pix2pix trained mostly on one image per batch,
# where batch norm *is* instance norm. We train on 64; instance norm would standardise
# each image's maps by their own mean and variance, and so throw away the overall
# brightness and contrast of each garment, the very thing that the edges do not give
# and that G has to choose. Batch norm keeps the differences between images; in evaluation mode
# (`evaluating(G)`) it uses its running statistics, so each output depends on its own
# input alone.


# %%
class SideBySide(nn.Module):
    """The two generators trained together: ``pix2pix`` (L1 + GAN) and ``l1_only``.

    Both start from the same weights, so that the discriminator's term is the only
    difference between them. The Trainer saves one G; this module is that G.
    """

    def __init__(self, width=32):
        super().__init__()
        self.pix2pix = models.UNet28(width=width)
        self.l1_only = models.UNet28(width=width)
        self.l1_only.load_state_dict(self.pix2pix.state_dict())


# %% [markdown]
# ## One step of training
#
# D learns to tell (x, real y) from (x, G(x)) on every patch: the cross-entropy of
# chapter 02, averaged over the 7 x 7 grid, halved as in pix2pix (which slows D down
# relative to G). Then each generator takes a step: pix2pix on the non-saturating GAN
# loss plus 100 L1, the baseline on 100 L1 alone. One optimizer holds both generators'
# weights: the gradient of the sum of their losses, for each network's weights, is its
# own loss's gradient, because neither loss depends on the other network; and Adam
# updates every weight from its own gradient alone, so one Adam over both is two Adams.


# %%
def make_step(nets, D, opt_g, opt_d, lam):
    def step(batch):
        edges, real = batch
        fake = nets.pix2pix(edges)
        real_logits, fake_logits = D(edges, real), D(edges, fake.detach())
        loss_d = 0.5 * losses.discriminator_loss(real_logits, fake_logits)
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_gan = losses.generator_loss_nonsaturating(D(edges, fake))
        l1_pix2pix = (fake - real).abs().mean()
        l1_baseline = (nets.l1_only(edges) - real).abs().mean()
        opt_g.zero_grad()
        (loss_gan + lam * l1_pix2pix + lam * l1_baseline).backward()
        opt_g.step()
        return {"loss_d": loss_d, "loss_gan": loss_gan,
                "l1_pix2pix": l1_pix2pix, "l1_only": l1_baseline,
                "d_real": F.sigmoid(real_logits).mean(),
                "d_fake": F.sigmoid(fake_logits).mean()}
    return step


# %% [markdown]
# ## Measuring against the truth
#
# The Trainer measures at step 0, every `--evaluate-every` steps and at the end: both
# generators translate the edges of `--fid-samples` test images (evaluation mode). Three
# numbers for each, named after the generator ("pix2pix l1", "l1_only fid", ...):
#
# * **L1 to the truth**: the mean |G(x) - y| over pixels, on the [-1, 1] scale. Two
#   yardsticks: the untrained U-Net (step 0), and the pixel-wise median of the training
#   images handed in for every input, the constant image with the least L1 (the median
#   minimises the absolute error: exercise 11.4).
# * **FID** of the translations against *other* real test images (chapter 05's own
#   feature network): do the outputs look like garments, as varied as real ones? A
#   perfect translator gives back the true images, so its FID is that of two disjoint
#   sets of real test images, which we measure as the floor.
# * **Sharpness**: the mean Sobel magnitude of the outputs divided by that of the true
#   images; a blurred image has weaker gradients (below 1).


# %%
def translate(G, edges, batch=500):
    """G's outputs (N, 1, 28, 28) for the edge maps ``edges`` (N, 1, 28, 28), in evaluation mode."""
    with evaluating(G):
        return np.concatenate([G(minigan.tensor(edges[i:i + batch])).numpy()
                               for i in range(0, len(edges), batch)])


def sharpness(images, real):
    """The mean Sobel magnitude of ``images`` over that of ``real``: below 1 is blurrier."""
    ratio = sobel_magnitude(images).mean() / sobel_magnitude(real).mean()
    return float(backend.to_numpy(ratio))   # the one copy to the host


def measure(network, G, edges, truth, reference):
    """L1 to ``truth``, FID to the ``reference`` features, and sharpness of G's outputs."""
    outputs = translate(G, edges)
    return {"l1": float(np.abs(outputs - truth).mean()),
            "fid": fid(features.predict(network, outputs)[0], reference),
            "sharpness": sharpness(outputs, truth)}


def make_evaluation(network, nets, edges, truth, reference):
    """The Trainer's evaluation: ``measure`` for each generator, as one flat dict
    {"pix2pix l1": ..., "pix2pix fid": ..., ..., "l1_only sharpness": ...}."""
    def evaluate(step):
        return {f"{name} {quantity}": value for name in ("pix2pix", "l1_only")
                for quantity, value in measure(network, getattr(nets, name), edges, truth,
                                               reference).items()}
    return evaluate


# %%
def plot_edges(images, count=8):
    """What G is given: the image, its Sobel magnitude, and the thresholded edge map."""
    import matplotlib.pyplot as plt
    magnitude = backend.to_numpy(sobel_magnitude(images[:count]))
    rows = [images[:count], magnitude / (2 * EDGE_THRESHOLD) * 2 - 1,
            backend.to_numpy(edge_map(images[:count]))]
    titles = ["test images", f"Sobel magnitude (white: {2 * EDGE_THRESHOLD} or more)",
              f"edges: magnitude > {EDGE_THRESHOLD} (the input)"]
    figure, axes = plt.subplots(3, 1, figsize=(count * 0.9, 3 * 1.25))
    for axis, row, title in zip(axes, rows, titles):
        plots.show_grid(axis, row, title=title, columns=count)
    figure.tight_layout()
    return figure


def plot_comparison(nets, edges, truth, labels):
    """edges | L1 only | pix2pix | truth, for the first test image of each class."""
    import matplotlib.pyplot as plt
    pick = [int(np.flatnonzero(labels == c)[0]) for c in range(10)]
    rows = {"edges (input)": edges[pick], "L1 only": translate(nets.l1_only, edges[pick]),
            "pix2pix (L1 + GAN)": translate(nets.pix2pix, edges[pick]), "truth": truth[pick]}
    figure, axes = plt.subplots(len(rows), 1, figsize=(9, 1.3 * len(rows)))
    for axis, (title, row) in zip(axes, rows.items()):
        plots.show_grid(axis, row, title=title, columns=len(pick))
    figure.tight_layout()
    return figure


def plot_training(metrics, evaluations, floor, median_image_l1):
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(1, 4, figsize=(19, 3.8))
    steps = [e["step"] for e in evaluations]
    for name, label in (("l1_only", "L1 only"), ("pix2pix", "pix2pix")):
        axes[0].plot(steps, [e[f"{name} l1"] for e in evaluations], marker="o", label=label)
        axes[1].plot(steps, [e[f"{name} fid"] for e in evaluations], marker="o", label=label)
        axes[2].plot(steps, [e[f"{name} sharpness"] for e in evaluations], marker="o",
                     label=label)
    axes[0].axhline(median_image_l1, color="gray", linestyle=":",
                    label="the median training image")
    axes[0].set_title("L1 to the true test image (lower is better)")
    axes[1].axhline(floor, color="gray", linestyle=":", label="real test images (floor)")
    axes[1].set_yscale("log")
    axes[1].set_title("FID to real test images (own features)")
    axes[2].axhline(1, color="gray", linestyle=":", label="as sharp as the truth")
    axes[2].set_title("sharpness: mean Sobel magnitude / the truth's")
    axes[3].plot(metrics["step"], metrics["d_real"], label="D(x, y), real pairs")
    axes[3].plot(metrics["step"], metrics["d_fake"], label="D(x, G(x)), pix2pix's")
    axes[3].axhline(0.5, color="gray", linestyle=":")
    axes[3].set_title("D's mean probability of 'real' (over patches)")
    return plots.over_training(figure, axes)


# %%
def add_arguments(parser):
    parser.add_argument("--batch", type=experiment.whole_number(1), default=64)
    parser.add_argument("--lr", type=experiment.number(above=0), default=2e-4)
    parser.add_argument("--lam", type=experiment.number(minimum=0), default=100.0,
                        help="the weight of L1 (lambda)")
    parser.add_argument("--width", type=experiment.whole_number(1), default=32,
                        help="the U-Net's first width")


def main(argv=None):
    args = experiment.parse_args("11_pix2pix", argv, steps=1800, quick_steps=200,
                                 add_arguments=add_arguments,
                                 image_training=experiment.ImageTraining(evaluations=8),
                                 description="Chapter 11: pix2pix, edges to garments")
    n = args.fid_samples
    run = experiment.Run("11_pix2pix", args, title="Chapter 11: pix2pix, edges to garments")
    network, accuracy = features.load_feature_classifier("fashion-mnist",
                                                         cache_root=args.feature_cache)
    train_images, _ = data.load("fashion-mnist", "train")
    test_images, test_labels = data.load("fashion-mnist", "test")
    # Translate the first n test images; compare their outputs with the next n.
    truth, test_edges = test_images[:n], backend.to_numpy(edge_map(test_images[:n]))
    reference = features.predict(network, test_images[n:2 * n])[0]
    floor_fid = fid(features.predict(network, truth)[0], reference)
    median_image = np.median(train_images, axis=0, keepdims=True)
    median_image_l1 = float(np.abs(median_image - truth).mean())

    nets, D = SideBySide(args.width), models.PatchDiscriminator28()
    opt_g = minigan.optim.Adam(nets.parameters(), lr=args.lr, betas=(0.5, 0.999))
    opt_d = minigan.optim.Adam(D.parameters(), lr=args.lr, betas=(0.5, 0.999))
    batches = data.Batches(edge_map(train_images), train_images, batch_size=args.batch,
                           seed=args.seed)
    trainer = Trainer(make_step(nets, D, opt_g, opt_d, args.lam), batches, args.steps, run,
                      G=nets, D=D, opt_g=opt_g, opt_d=opt_d, log_every=10,
                      checkpoint_every=args.checkpoint_every,
                      evaluate_fn=make_evaluation(network, nets, test_edges, truth, reference),
                      evaluate_every=args.evaluate_every, resume=args.resume)
    if trainer.finished:
        return run.already_finished(trainer.step)
    evaluations = trainer.fit()

    run.savefig(plot_edges(test_images), "edges", "the input: Sobel edges of test images")
    run.savefig(plot_comparison(nets, test_edges, truth, test_labels[:n]), "comparison",
                "edges | L1 only | pix2pix | truth, one test image of each class")
    run.savefig(plot_training(run.metrics(), evaluations, floor_fid, median_image_l1),
                "training", "L1, FID, sharpness and D's outputs over training")
    first, last = evaluations[0], evaluations[-1]   # first: the untrained U-Net, step 0
    results = {"feature network test accuracy": round(accuracy, 4),
               "L1 to the truth: pix2pix": round(last["pix2pix l1"], 4),
               "L1 to the truth: L1 only": round(last["l1_only l1"], 4),
               "L1 to the truth: the median training image": round(median_image_l1, 4),
               "L1 to the truth: untrained U-Net (step 0)": round(first["pix2pix l1"], 4),
               "FID: pix2pix": round(last["pix2pix fid"], 2),
               "FID: L1 only": round(last["l1_only fid"], 2),
               "FID of real test images (the floor)": round(floor_fid, 2),
               "FID: untrained U-Net (step 0)": round(first["pix2pix fid"], 2),
               "sharpness: pix2pix": round(last["pix2pix sharpness"], 3),
               "sharpness: L1 only": round(last["l1_only sharpness"], 3),
               "share of edge pixels in the inputs": round(float((test_edges > 0).mean()), 3),
               "images per measurement": n, "steps": trainer.step,
               "training seconds (this session)": round(trainer.seconds, 1)}
    run.finish(results, notes="L1 is the mean absolute difference per pixel on the [-1, 1] "
                              "scale. FID is on minigan's own feature network, not Inception's: "
                              "comparable only within minigan.")
    return results


if __name__ == "__main__":
    experiment.command_line(main)
