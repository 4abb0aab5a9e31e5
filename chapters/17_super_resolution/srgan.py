# %% [markdown]
# # Chapter 17: super-resolution, and the perception-distortion trade-off
#
# Given a small image, draw the large one it came from. Many large images shrink to the
# same small one, so the answer is uncertain, as pix2pix's was (chapter 11). A network
# trained to minimise the squared error per pixel answers with the *mean* of all the
# large images that fit, and the mean of many sharp images is a blurred one: high PSNR,
# no texture. Ledig et al. (2017, SRGAN) kept the network (a residual network ending in
# sub-pixel convolutions, "SRResNet") and changed the loss: a *content loss*, the distance
# between the features a trained classifier computes from the output and from the truth,
# plus an adversarial loss from a discriminator that has learnt what real large images
# look like. Their outputs looked real, and scored a *lower* PSNR than SRResNet's.
#
# Blau & Michaeli (2018) proved that this is no accident: below some distortion (mean
# squared error, say) no estimator can produce outputs whose distribution equals the
# real images' (perfect "perception"). Getting closer to the real distribution costs
# distortion. This chapter measures that trade-off on Fashion-MNIST, 7 x 7 up to 28 x 28:
#
# * **bicubic** interpolation, the classical answer (`minigan/data/resize.py`);
# * the generator trained on the **pixel loss** alone (mean squared error, SRResNet);
# * the same generator trained on the **content loss + adversarial loss** (SRGAN), from
#   the same initial weights, on the same batches;
#
# each measured on the test set by PSNR and SSIM (distortion: closeness to the truth,
# image by image), and by FID and sharpness (perception: do the outputs, as a set, look
# like real images?).
#
# Run: `python chapters/17_super_resolution/srgan.py` (minutes on two cores; `--quick`
# for a first look; `--resume --out DIR` continues a killed run).

# %%
import numpy as np

import minigan
import minigan.nn.functional as F
from minigan import backend, data, experiment, models, nn, plots
from minigan.data.resize import bicubic_upsample, box_downsample
from minigan.gan import losses
from minigan.metrics import features
from minigan.metrics.fid import fid
from minigan.metrics.image_quality import psnr, sharpness, ssim
from minigan.training import Trainer, evaluating

# %% [markdown]
# ## The task: 7 x 7 to 28 x 28 (factor 4)
#
# The small image is the mean of each 4 x 4 block of the large one (`box_downsample`):
# what a sensor with 4 times larger cells would record. Factor 4 is SRGAN's. At 14 x 14
# (factor 2) a Fashion-MNIST garment keeps its outline and most of its inner lines, so
# less is left to guess. At 7 x 7 the input keeps the garment's silhouette and brightness
# and loses almost every edge inside it (collars, seams, a print, the gap between trouser
# legs), so the answer is genuinely uncertain: where averaging blurs and a GAN must invent.
#
# **Bicubic interpolation** (Keys 1981, a = -0.5) weighs the 4 x 4 nearest small pixels
# by a cubic kernel of their distance (half-pixel centres, the image mirrored at its
# border, `minigan/data/resize.py`); it reproduces quadratics exactly, and nothing finer.
# It is the first row to beat. Exercise 17.3 writes its kernel.

# %% [markdown]
# ## The generator: a residual network with sub-pixel convolution
#
#     x (1, 7, 7)
#     head:       Conv(1, C, 3) + ReLU                               (C, 7, 7)
#     B blocks:   h + Conv(C, C, 3)(ReLU(Conv(C, C, 3)(h)))          (C, 7, 7)
#     then:       Conv(C, C, 3), added to the head's output          (C, 7, 7)
#     up x 2:     Conv(C, 4C, 3) + PixelShuffle(2) + ReLU            (C, 14, 14)
#     up x 2:     Conv(C, 4C, 3) + PixelShuffle(2) + ReLU            (C, 28, 28)
#     tail:       Conv(C, 1, 3) + Tanh                               (1, 28, 28)
#
# with C = 32 and B = 4 (SRGAN: C = 64, B = 16, for 96 x 96 photographs).
# All the thinking happens at 7 x 7, where it is cheap; the image is made larger only at
# the end. **Pixel shuffle** (Shi et al. 2016, `F.pixel_shuffle`) is how: a convolution
# computes 4 C channels at 7 x 7, and the shuffle moves each group of 4 into a 2 x 2 block
# of pixels, y[c, 2h + i, 2w + j] = x[4c + 2i + j, h, w]. Every output pixel then has weights
# of its own, and no pixel is the sum of more overlapping kernel copies than its neighbour,
# the cause of a transposed convolution's checkerboard (chapter 01). The shuffle computes
# nothing, it only moves values (exercise 17.1 shows it is a permutation), so its gradient is
# the inverse move, and minigan composes it from a reshape and a transpose.
#
# Two changes from SRGAN, both for a small CPU run: no batch norm in the residual blocks
# (EDSR, Lim et al. 2017, found it hurts super-resolution, and without it evaluation mode
# computes exactly what training did), and ReLU for SRGAN's PReLU (minigan has no PReLU).


# %%
class ResidualBlock(nn.Module):
    """h + Conv(ReLU(Conv(h))): the block of EDSR (SRGAN's without batch norm)."""

    def __init__(self, width):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(width, width, 3, 1, 1), nn.ReLU(),
                                  nn.Conv2d(width, width, 3, 1, 1))

    def forward(self, h):
        return h + self.body(h)


class SRResNet(nn.Module):
    """7 x 7 -> 28 x 28: residual blocks at the small size, then two sub-pixel steps."""

    def __init__(self, width=32, blocks=4):
        super().__init__()
        self.head = nn.Sequential(nn.Conv2d(1, width, 3, 1, 1), nn.ReLU())
        self.body = nn.Sequential(*[ResidualBlock(width) for _ in range(blocks)],
                                  nn.Conv2d(width, width, 3, 1, 1))
        self.up = nn.Sequential(nn.Conv2d(width, 4 * width, 3, 1, 1), nn.PixelShuffle(2),
                                nn.ReLU(),
                                nn.Conv2d(width, 4 * width, 3, 1, 1), nn.PixelShuffle(2),
                                nn.ReLU())
        self.tail = nn.Sequential(nn.Conv2d(width, 1, 3, 1, 1), nn.Tanh())

    def forward(self, small):
        h = self.head(small)
        return self.tail(self.up(h + self.body(h)))


class SideBySide(nn.Module):
    """The two generators trained together: ``srgan`` (content + adversarial loss) and
    ``pixel`` (pixel loss alone), from the same initial weights. The Trainer saves one G;
    this module is that G."""

    def __init__(self, width=32, blocks=4):
        super().__init__()
        self.srgan = SRResNet(width, blocks)
        self.pixel = SRResNet(width, blocks)
        self.pixel.load_state_dict(self.srgan.state_dict())


# %% [markdown]
# ## The losses
#
# **Pixel loss** (SRResNet): the mean squared error (1/N) sum (G(x) - y)^2 over the pixels.
# Its minimiser, for each input x, is the conditional mean E[y | x]: the average of every
# garment that shrinks to x. Minimising MSE is maximising PSNR = 10 log10(L^2 / MSE), so
# this generator is the PSNR champion by construction, and blurred for the same reason.
#
# **Content loss** (SRGAN's "VGG loss"): the mean squared distance between the feature
# maps phi(G(x)) and phi(y) of a trained classifier. SRGAN took VGG-19's last convolution
# maps; we take those of minigan's own feature network (chapter 05), its second
# convolution *before* the ReLU that follows it: 64 maps of 7 x 7, each unit seeing a
# 10 x 10 patch. Two images with the same edges in the same places have close features
# even where their pixels differ by a shift or a different stripe, so this loss does not
# ask for the average. The network is frozen (its weights are constants: nothing updates
# it), but it is a minigan Module, so the loss's gradient flows through it back to G's
# output.
#
# **Before the ReLU, not after.** After the ReLU every unit that responds negatively reads
# 0, however negative: the loss cannot see anything that only changes responses below 0,
# and G is free to put it there. With `--content-layer conv2-relu` it does: a regular
# grid of dots, 4 pixels apart (the network's stride), over every garment (the README
# shows it). ESRGAN (Wang et al. 2018) made the same change to SRGAN's VGG loss, for a
# related reason: after the activation most features are 0 and supervise nothing.
# (FID reads the 128 features of the *next* layer of the same network, so this loss and
# the FID are not independent: the README discusses what that means for the figures.)
#
# **Adversarial loss**: an unconditional discriminator D (chapter 06's DCGAN discriminator
# at width 32) learns to tell real 28 x 28 test images from G's outputs, and G minimises
# the non-saturating -log D(G(x)). SRGAN's total is content + 10^-3 adversarial; our
# features are on another scale than VGG's, so the weight is `--adversarial-weight`,
# 10^-2 by default (the README shows what the content loss alone, weight 0, does).


# %%
# how many of the feature network's trunk layers phi keeps: Conv, ReLU, Conv (, ReLU)
CONTENT_LAYERS = {"conv2": 3, "conv2-relu": 4}


def content_network(network, layer="conv2"):
    """The feature network up to its second convolution (``layer`` "conv2"; "conv2-relu":
    up to the ReLU after it), frozen: phi(x), (N, 64, 7, 7)."""
    phi = nn.Sequential(*list(network.trunk)[:CONTENT_LAYERS[layer]])
    phi.eval()
    for weight in phi.parameters():
        weight.requires_grad = False   # constants: the gradient passes through, not into them
    return phi


def make_step(nets, D, phi, opt_g, opt_d, adversarial_weight):
    def step(batch):
        small, real = batch
        fake = nets.srgan(small)
        real_logits, fake_logits = D(real), D(fake.detach())
        loss_d = losses.discriminator_loss(real_logits, fake_logits)
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        with minigan.no_grad():
            real_features = phi(real)
        content = F.mse_loss(phi(fake), real_features)
        adversarial = losses.generator_loss_nonsaturating(D(fake))
        pixel = F.mse_loss(nets.pixel(small), real)
        opt_g.zero_grad()
        (content + adversarial_weight * adversarial + pixel).backward()
        opt_g.step()
        # one-element tensors: the Trainer copies them to the host when it logs them
        return {"loss_d": loss_d, "content": content,
                "adversarial": adversarial, "pixel_mse": pixel,
                "d_real": F.sigmoid(real_logits).mean(),
                "d_fake": F.sigmoid(fake_logits).mean()}
    return step


# %% [markdown]
# ## Measuring: distortion and perception
#
# On `--fid-samples` test images (2,000 by default), for each method:
#
# * **PSNR** (dB, higher is closer): 10 log10(L^2 / MSE) of each image against its truth,
#   L = 2 for pixels in [-1, 1], averaged over the images (exercise 17.2).
# * **SSIM** (higher is closer, 1 for the truth itself): Wang et al.'s comparison of local
#   means, contrasts and correlations in 11 x 11 Gaussian windows (sigma 1.5), on the
#   [0, 1] intensity scale. Both are in `minigan/metrics/image_quality.py`.
# * **FID** (lower is more real-looking) of the outputs against *other* real test images,
#   on chapter 05's feature network; the floor is the FID of the true images themselves.
# * **Sharpness**: the outputs' mean Sobel magnitude over the truths' (chapter 11); 1 is
#   as sharp as real garments, below 1 blurrier.
#
# The first two are distortion, the last two perception.


# %%
def upscale(G, small, batch=500):
    """G's outputs (N, 1, 28, 28), a host array, for the small images (N, 1, 7, 7)."""
    with evaluating(G):
        return np.concatenate([G(minigan.tensor(small[i:i + batch])).numpy()
                               for i in range(0, len(small), batch)])


def bicubic(small):
    """The bicubic baseline, clipped to the images' range [-1, 1] (the cubic kernel's
    negative lobes overshoot at steep edges)."""
    return np.clip(backend.to_numpy(bicubic_upsample(small, 4)), -1, 1)


def measure(network, outputs, truth, reference):
    """PSNR, SSIM, FID and sharpness of ``outputs`` against their ``truth``."""
    return {"psnr": psnr(outputs, truth), "ssim": ssim(outputs, truth),
            "fid": fid(features.predict(network, outputs)[0], reference),
            "sharpness": sharpness(outputs, truth)}


def make_evaluation(network, nets, small, truth, reference):
    """The Trainer's evaluation: ``measure`` for both generators, as one flat dict
    {"srgan psnr": ..., ..., "pixel sharpness": ...}."""
    def evaluate(step):
        return {f"{name} {quantity}": value for name in ("srgan", "pixel")
                for quantity, value in measure(network, upscale(getattr(nets, name), small),
                                               truth, reference).items()}
    return evaluate


# %%
METHODS = (("bicubic", "bicubic"), ("pixel", "pixel loss (SRResNet)"), ("srgan", "SRGAN"))


def plot_crops(small, outputs, truth, labels, count=10):
    """input | bicubic | pixel loss | SRGAN | truth, for the first test image of each class;
    below, the same five for one garment, four times larger."""
    import matplotlib.pyplot as plt
    pick = [int(np.flatnonzero(labels == c)[0]) for c in range(count)]
    nearest = np.repeat(np.repeat(small, 4, axis=2), 4, axis=3)   # shown at the same size
    rows = [("input, 7 x 7 (shown as blocks)", nearest), *[(title, outputs[name])
                                                         for name, title in METHODS],
            ("truth, 28 x 28", truth)]
    figure = plt.figure(figsize=(10, 9.6))
    grid = figure.add_gridspec(len(rows) + 3, len(rows))
    for r, (title, images) in enumerate(rows):
        plots.show_grid(figure.add_subplot(grid[r, :]), images[pick], title=title,
                        columns=count)
    one = pick[0]
    for c, (title, images) in enumerate(rows):
        axis = figure.add_subplot(grid[len(rows):, c])
        axis.imshow(images[one, 0], cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
        axis.set_title(title.split(",")[0].split(" (")[0], fontsize=9)
        axis.axis("off")
    figure.tight_layout()
    return figure


def plot_trade_off(scores, evaluations, floor):
    """PSNR against FID: each method's final point, and each generator's path over training."""
    import matplotlib.pyplot as plt
    figure, axis = plt.subplots(figsize=(6.4, 4.8))
    for name, title in METHODS[1:]:
        axis.plot([e[f"{name} fid"] for e in evaluations],
                  [e[f"{name} psnr"] for e in evaluations], color="lightgray", zorder=1)
    for name, title in METHODS:
        axis.scatter(scores[name]["fid"], scores[name]["psnr"], s=60, label=title, zorder=2)
    axis.axvline(floor, color="gray", linestyle=":", label="FID of real test images (floor)")
    axis.set_xscale("log")
    axis.set_xlabel("FID to real test images (lower: more real-looking)")
    axis.set_ylabel("PSNR, dB (higher: closer to the truth)")
    axis.set_title("perception against distortion (grey: the paths over training)")
    axis.legend(fontsize=8)
    figure.tight_layout()
    return figure


def plot_training(metrics, evaluations, scores, floor):
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(1, 5, figsize=(23, 3.8))
    steps = [e["step"] for e in evaluations]
    quantities = (("psnr", "PSNR, dB (higher is closer)"), ("ssim", "SSIM (higher is closer)"),
                  ("fid", "FID (lower is more real-looking)"),
                  ("sharpness", "sharpness: Sobel magnitude / the truth's"))
    for axis, (quantity, title) in zip(axes, quantities):
        for name, label in METHODS[1:]:
            axis.plot(steps, [e[f"{name} {quantity}"] for e in evaluations], marker="o",
                      label=label)
        axis.axhline(scores["bicubic"][quantity], color="gray", linestyle="--",
                     label="bicubic")
        axis.set_title(title)
    axes[2].axhline(floor, color="gray", linestyle=":", label="real test images (floor)")
    axes[2].set_yscale("log")
    axes[3].axhline(1, color="gray", linestyle=":", label="as sharp as the truth")
    axes[4].plot(metrics["step"], metrics["d_real"], label="D(real)")
    axes[4].plot(metrics["step"], metrics["d_fake"], label="D(SRGAN's output)")
    axes[4].axhline(0.5, color="gray", linestyle=":")
    axes[4].set_title("D's mean probability of 'real'")
    return plots.over_training(figure, axes)


# %%
def add_arguments(parser):
    parser.add_argument("--batch", type=experiment.whole_number(1), default=32)
    parser.add_argument("--lr", type=experiment.number(above=0), default=2e-4)
    parser.add_argument("--adversarial-weight", type=experiment.number(minimum=0),
                        default=1e-2, help="the weight of the adversarial loss (default 0.01)")
    parser.add_argument("--width", type=experiment.whole_number(1), default=32,
                        help="the generator's channels (default 32)")
    parser.add_argument("--blocks", type=experiment.whole_number(0), default=4,
                        help="the generator's residual blocks (default 4)")
    parser.add_argument("--content-layer", choices=sorted(CONTENT_LAYERS), default="conv2",
                        help="the feature maps of the content loss: the second convolution "
                             "of the feature network, before (conv2, the default) or after "
                             "its ReLU (conv2-relu)")


def main(argv=None):
    args = experiment.parse_args("17_super_resolution", argv, steps=1200, quick_steps=150,
                                 add_arguments=add_arguments,
                                 image_training=experiment.ImageTraining(evaluations=6),
                                 description="Chapter 17: super-resolution, SRGAN")
    n = args.fid_samples
    run = experiment.Run("17_super_resolution", args,
                         title="Chapter 17: super-resolution, 7 x 7 to 28 x 28")
    network, accuracy = features.load_feature_classifier("fashion-mnist",
                                                         cache_root=args.feature_cache)
    train_images, _ = data.load("fashion-mnist", "train")
    test_images, test_labels = data.load("fashion-mnist", "test")
    # Upscale the first n test images; compare the outputs' features with the next n.
    truth = test_images[:n]
    small = backend.to_numpy(box_downsample(truth, 4))
    reference = features.predict(network, test_images[n:2 * n])[0]
    floor_fid = fid(features.predict(network, truth)[0], reference)
    scores = {"bicubic": measure(network, bicubic(small), truth, reference)}

    nets, D = SideBySide(args.width, args.blocks), models.dcgan28_discriminator(width=32)
    phi = content_network(network, args.content_layer)
    opt_g = minigan.optim.Adam(nets.parameters(), lr=args.lr, betas=(0.9, 0.999))
    opt_d = minigan.optim.Adam(D.parameters(), lr=args.lr, betas=(0.9, 0.999))
    batches = data.Batches(box_downsample(train_images, 4), train_images,
                           batch_size=args.batch, seed=args.seed)
    trainer = Trainer(make_step(nets, D, phi, opt_g, opt_d, args.adversarial_weight), batches,
                      args.steps, run, G=nets, D=D, opt_g=opt_g, opt_d=opt_d, log_every=10,
                      checkpoint_every=args.checkpoint_every,
                      evaluate_fn=make_evaluation(network, nets, small, truth, reference),
                      evaluate_every=args.evaluate_every, resume=args.resume)
    if trainer.finished:
        return run.already_finished(trainer.step)
    evaluations = trainer.fit()

    last = evaluations[-1]
    for name in ("pixel", "srgan"):
        scores[name] = {quantity: last[f"{name} {quantity}"]
                        for quantity in ("psnr", "ssim", "fid", "sharpness")}
    outputs = {"bicubic": bicubic(small), "pixel": upscale(nets.pixel, small),
               "srgan": upscale(nets.srgan, small)}
    run.savefig(plot_crops(small, outputs, truth, test_labels[:n]), "crops",
                "input | bicubic | pixel loss | SRGAN | truth, one test image of each class")
    run.savefig(plot_trade_off(scores, evaluations, floor_fid), "trade_off",
                "PSNR against FID for the three methods")
    run.savefig(plot_training(run.metrics(), evaluations, scores, floor_fid), "training",
                "PSNR, SSIM, FID, sharpness and D's outputs over training")
    results = {"feature network test accuracy": round(accuracy, 4)}
    for name, title in METHODS:
        results.update({f"PSNR: {title}": round(scores[name]["psnr"], 3),
                        f"SSIM: {title}": round(scores[name]["ssim"], 4),
                        f"FID: {title}": round(scores[name]["fid"], 2),
                        f"sharpness: {title}": round(scores[name]["sharpness"], 3)})
    results.update({"FID of real test images (the floor)": round(floor_fid, 2),
                    "images per measurement": n, "steps": trainer.step,
                    "training seconds (this session)": round(trainer.seconds, 1)})
    run.finish(results, notes="PSNR with L = 2 (pixels in [-1, 1]), the mean over the images; "
                              "SSIM on the [0, 1] intensity scale (Gaussian window 11, sigma "
                              "1.5). FID is on minigan's own feature network, not Inception's: "
                              "comparable only within minigan.")
    return results


if __name__ == "__main__":
    experiment.command_line(main)
