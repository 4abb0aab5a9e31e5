# %% [markdown]
# # Chapter 12: CycleGAN, unpaired image-to-image translation
#
# pix2pix (chapter 11) learnt edges -> garments from pairs (x, y): the L1 term told G,
# pixel by pixel, which garment goes with these edges. Often there are no pairs: photos
# of horses and photos of zebras, but no zebra standing where each horse stood. Zhu,
# Park, Isola & Efros (2017) train two translators, G: A -> B and F: B -> A, with a
# discriminator in each domain, D_B judging G's outputs against real b and D_A judging
# F's against real a. A GAN alone only asks that G(a) look like *some* b; it can map
# every a to one good garment. CycleGAN adds that a round trip must come back:
# F(G(a)) = a and G(F(b)) = b. G minimises, with F, the full objective
#
#     L = L_GAN(G, D_B) + L_GAN(F, D_A) + lambda L_cyc(G, F) + 0.5 lambda L_identity(G, F)
#
#     L_GAN(G, D_B) = E_a[(D_B(G(a)) - 1)^2]          (least squares, LSGAN: chapter 10;
#                                                      D_B regresses real b to 1, G(a) to 0)
#     L_cyc         = E_a[|F(G(a)) - a|] + E_b[|G(F(b)) - b|]      (mean over pixels)
#     L_identity    = E_b[|G(b) - b|]   + E_a[|F(a) - a|]
#
# with lambda = 10. Why does the cycle make unpaired training possible? If G(a) must
# hold enough of a for F to rebuild a, then G cannot send two different inputs to the
# same output: the round trip makes G (nearly) invertible, and each edge map keeps its
# own garment. What it cannot guarantee is that this garment is the *right* one: any
# invertible map whose outputs look like garments satisfies both terms, a swap of
# trousers for dresses as well. Nothing in the loss knows the true pairing.
#
# Here we can check. A is chapter 11's edge maps, B the garments, both from
# Fashion-MNIST; for training, A comes from one half of the training images and B from
# the other half, so no edge map ever meets its own garment. The test set keeps the
# pairing hidden from training and uses it to measure: the L1 distance of G(a) to the
# true b, beside pix2pix's (which trained on the pairs).
#
# Run: `python chapters/12_cyclegan/cyclegan.py` (minutes on
# one core; `--quick` for a first look; `--resume --out DIR` continues a killed run).

# %%
import json
import pathlib

import numpy as np

import minigan
from minigan import backend, data, experiment, models, nn, plots
from minigan.data.edges import edge_map
from minigan.gan import losses
from minigan.metrics import features
from minigan.metrics.fid import fid
from minigan.training import Trainer, evaluating

# %% [markdown]
# ## The generators: a small ResNet
#
# CycleGAN's generator (after Johnson et al., 2016) shrinks the image twice, transforms
# it with residual blocks, and grows it back. There is no U-Net skip: the input's
# layout has to pass the residual blocks, which are good at keeping it (each block adds
# a correction to its input, `minigan.models.ResidualBlock`). Cut down to 28x28, with
# width w = 8 by default:
#
#     x (1, 28, 28)
#     -> Conv(1, w, 7, 1, 3, reflect) + IN + ReLU             (w, 28, 28)
#     -> Conv(w, 2w, 3, 2, 1) + IN + ReLU                     (2w, 14, 14)
#     -> Conv(2w, 4w, 3, 2, 1) + IN + ReLU                    (4w, 7, 7)
#     -> 3 x ResidualBlock(4w): instance norm, reflect padding (4w, 7, 7)
#     -> ConvT(4w, 2w, 4, 2, 1) + IN + ReLU                   (2w, 14, 14)
#     -> ConvT(2w, w, 4, 2, 1) + IN + ReLU                    (w, 28, 28)
#     -> Conv(w, 1, 7, 1, 3, reflect) + Tanh                  (1, 28, 28)
#
# IN is instance norm (no learnt scale, as in CycleGAN). The reflection padding of the
# 7x7 convolutions fills the border with the image's own pixels, not with a made-up
# value. The up-sampling is a transposed convolution with kernel 4 and stride 2, which
# chapter 01 showed has no checkerboard (CycleGAN's kernel 3 does). Chapter 11 argued
# for batch norm because instance norm throws each map's mean and contrast away; here
# we follow CycleGAN, whose generators saw one image at a time; the last convolution
# can still set the brightness from the normalised maps' patterns.


# %%
class ResNetGenerator28(nn.Module):
    """CycleGAN's ResNet generator at 28x28: (N, 1, 28, 28) -> (N, 1, 28, 28) in [-1, 1]."""

    def __init__(self, width=8, blocks=3):
        super().__init__()
        w = width
        self.net = nn.Sequential(
            nn.Conv2d(1, w, 7, 1, 3, padding_mode="reflect"), nn.InstanceNorm2d(w), nn.ReLU(),
            nn.Conv2d(w, 2 * w, 3, 2, 1), nn.InstanceNorm2d(2 * w), nn.ReLU(),
            nn.Conv2d(2 * w, 4 * w, 3, 2, 1), nn.InstanceNorm2d(4 * w), nn.ReLU(),
            *[models.ResidualBlock(4 * w, norm="instance", padding_mode="reflect")
              for _ in range(blocks)],
            nn.ConvTranspose2d(4 * w, 2 * w, 4, 2, 1), nn.InstanceNorm2d(2 * w), nn.ReLU(),
            nn.ConvTranspose2d(2 * w, w, 4, 2, 1), nn.InstanceNorm2d(w), nn.ReLU(),
            nn.Conv2d(w, 1, 7, 1, 3, padding_mode="reflect"), nn.Tanh()).apply(models.dcgan_init_)

    def forward(self, x):
        return self.net(x)


# %% [markdown]
# ## The discriminators: an unconditional PatchGAN
#
# Chapter 11's D saw the input and an output together, because it judged pairs. Here
# there are no pairs: D_B sees one image and asks "is this a garment?", D_A "is this
# an edge map?". Otherwise it is chapter 11's PatchGAN, with instance norm as in
# CycleGAN:
#
#     y (1, 28, 28) -> Conv(1, w, 4, 2, 1) + LeakyReLU(0.2)          (w, 14, 14)
#                   -> Conv(w, 2w, 4, 2, 1) + IN + LeakyReLU(0.2)     (2w, 7, 7)
#                   -> Conv(2w, 1, 3, 1, 1)                           (1, 7, 7) scores
#
# The convolutions give each of the 7 x 7 scores an 18 x 18 patch (chapter 11's
# exercise 11.2); instance norm's mean and variance are taken over the whole 7 x 7 map,
# so each score also depends, through them, a little on the rest of the image. The
# scores are not logits: LSGAN regresses them to 1 for real images and 0 for fakes.


# %%
class PatchDiscriminator(nn.Module):
    """An unconditional PatchGAN: images (N, 1, 28, 28) -> scores (N, 1, 7, 7)."""

    def __init__(self, width=32):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.InstanceNorm2d(2 * width),
            nn.LeakyReLU(0.2),
            nn.Conv2d(2 * width, 1, 3, 1, 1)).apply(models.dcgan_init_)

    def forward(self, y):
        return self.net(y)


class Translators(nn.Module):
    """G: A -> B (edges to garments) and F: B -> A. The Trainer saves one G: this module."""

    def __init__(self, width=8, blocks=3):
        super().__init__()
        self.G = ResNetGenerator28(width, blocks)
        self.F = ResNetGenerator28(width, blocks)


class Discriminators(nn.Module):
    """D_A judges edge maps, D_B garments. The Trainer saves one D: this module."""

    def __init__(self, width=32):
        super().__init__()
        self.A = PatchDiscriminator(width)
        self.B = PatchDiscriminator(width)


# %% [markdown]
# ## The image pool
#
# D is trained not only on the generator's latest outputs but on a pool of the last 50
# it has produced (Shrivastava et al., 2017). Each new fake, once the pool is full,
# goes to D as it is with probability 1/2; otherwise D gets a stored older fake and the
# new one takes its place. D so keeps being reminded of what G used to do, and G cannot
# win by hopping from one trick to the next that the latest D does not know yet
# (exercise 12.1). The pool holds detached arrays: D's loss must not reach G.
#
# What D sees at the next step depends on the images in the pool and on its coin, so
# both are part of the training state: `state_dict()` hands them over (the images as
# one array, the coin's `bit_generator.state`), and the Trainer keeps them in every
# checkpoint beside the networks. A resumed run then tosses the same coins and hands D
# the same old fakes as a run that never stopped.


# %%
class ImagePool:
    """The last ``size`` fakes; ``query(fakes)`` hands D a mix of new and stored ones."""

    def __init__(self, size=50, seed=0):
        self.size, self.images = size, []
        self.rng = np.random.default_rng(seed)

    def query(self, fakes):
        """``fakes`` a Tensor (N, C, H, W); returns a Tensor of the same shape, no graph."""
        if self.size == 0:
            return fakes.detach()
        chosen = []
        for image in fakes.data:
            if len(self.images) < self.size:      # filling up: keep it and pass it on
                self.images.append(image.copy())
                chosen.append(image)
            elif self.rng.random() < 0.5:         # swap: an old fake out, the new one in
                i = int(self.rng.integers(self.size))
                chosen.append(self.images[i])
                self.images[i] = image.copy()
            else:
                chosen.append(image)
        xp = backend.array_module(fakes.data)
        return minigan.tensor(xp.stack(chosen))

    def state_dict(self):
        """The stored images as one host array (n, C, H, W) and the coin's generator state."""
        images = [backend.to_numpy(image) for image in self.images]
        return {"images": np.stack(images) if images else np.zeros((0,), dtype=np.float32),
                "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state):
        """Go on from a ``state_dict()``: its images (on the current device) and its coin."""
        self.images = [backend.asarray(image).copy() for image in state["images"]]
        self.rng.bit_generator.state = state["rng"]


# %% [markdown]
# ## One step of training
#
# First both generators take a step on the full objective. CycleGAN's generator term
# is the mean squared error itself, (D_B(G(a)) - 1)^2, so we double minigan's
# `generator_loss_least_squares`, which carries LSGAN's factor 1/2. One Adam holds both
# generators' weights: the objective couples them through the cycle, and Adam updates
# each weight from its own gradient. Then both discriminators take a step on LSGAN's
# loss, 1/2 (D(real) - 1)^2 + 1/2 D(fake)^2 (minigan's `discriminator_loss_least_squares`),
# with the fakes drawn through the pools. The G step's backward also left gradients in
# D's weights; `opt_d.zero_grad()` clears them before D's own backward.


# %%
def make_step(nets, Ds, opt_g, opt_d, pools, lam=10.0, identity=0.5):
    pool_a, pool_b = pools

    def step(batch):
        a, b = batch
        fake_b, fake_a = nets.G(a), nets.F(b)
        loss_gan = (2 * losses.generator_loss_least_squares(Ds.B(fake_b))
                    + 2 * losses.generator_loss_least_squares(Ds.A(fake_a)))
        cycle = (nets.F(fake_b) - a).abs().mean() + (nets.G(fake_a) - b).abs().mean()
        loss_g = loss_gan + lam * cycle
        values = {}
        if identity > 0:   # with weight 0 CycleGAN skips the two extra passes
            same = (nets.G(b) - b).abs().mean() + (nets.F(a) - a).abs().mean()
            loss_g = loss_g + identity * lam * same
            values["identity"] = same
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()

        real_a, real_b = Ds.A(a), Ds.B(b)
        pooled_a, pooled_b = Ds.A(pool_a.query(fake_a)), Ds.B(pool_b.query(fake_b))
        loss_d = (losses.discriminator_loss_least_squares(real_a, pooled_a)
                  + losses.discriminator_loss_least_squares(real_b, pooled_b))
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        return {"loss_g": loss_g, "loss_gan": loss_gan, "cycle": cycle,
                **values, "loss_d": loss_d,
                "d_real_b": real_b.mean(), "d_fake_b": pooled_b.mean(),
                "d_real_a": real_a.mean(), "d_fake_a": pooled_a.mean()}
    return step


# %% [markdown]
# ## Measuring, through the hidden pairing
#
# The Trainer measures at step 0, every `--evaluate-every` steps and at the end: both
# translators run on `--fid-samples` test images and their edge maps (evaluation mode;
# instance norm has no running statistics, so it computes the same thing as in
# training). The numbers, all on the [-1, 1] scale:
#
# * **Cycle errors** |F(G(a)) - a| and |G(F(b)) - b|, the mean over pixels: what the
#   training minimised, on images it never saw. The untrained nets (step 0) are the
#   yardstick.
# * **L1 to the truth** |G(a) - b| for the true garment b of each edge map: what the
#   training could not see. Yardsticks: the median training image for every input
#   (the best constant image under L1, chapter 11's exercise 11.4), and pix2pix,
#   which trained on the pairs (chapter 11's README: 0.123 after 1,800 steps).
#   Also |F(b) - a|, the other direction, against the true edge map.
# * **The class through the pairing**: how often the own classifier of chapter 05 names,
#   for G(a), the class of a's true garment. L1 charges every pixel of texture and
#   brightness that the edges do not hold; this asks only whether the edges of a
#   trouser became a trouser. Its ceiling is the classifier's accuracy on the true
#   garments themselves; chance is 0.1.
# * **FID** of G(test edges) against *other* real test images, with precision and
#   recall (chapter 05; minigan's own feature network); the floor is the FID of the
#   true garments against the same images.


# %%
def translate(net, images, batch=500):
    """``net``'s outputs (N, 1, 28, 28) for images (N, 1, 28, 28), in evaluation mode."""
    with evaluating(net):
        return np.concatenate([net(minigan.tensor(images[i:i + batch])).numpy()
                               for i in range(0, len(images), batch)])


def make_evaluation(network, nets, edges, truth, labels, reference):
    """The Trainer's evaluation: cycle errors, L1 to the hidden truth, the share of G(edges)
    in the true garment's class, and FID / precision / recall of G(edges)."""
    def evaluate(step):
        fake_b, fake_a = translate(nets.G, edges), translate(nets.F, truth)
        scores = features.image_scores(network, fake_b, reference)
        classes = features.predict(network, fake_b)[1].argmax(axis=1)
        return {"cycle_a": float(np.abs(translate(nets.F, fake_b) - edges).mean()),
                "cycle_b": float(np.abs(translate(nets.G, fake_a) - truth).mean()),
                "l1": float(np.abs(fake_b - truth).mean()),
                "l1_edges": float(np.abs(fake_a - edges).mean()),
                "class": float(np.mean(classes == labels)), **scores}
    return evaluate


# %%
def plot_round_trips(nets, edges, truth, labels):
    """a | G(a) | F(G(a)) | true b, and b | F(b) | G(F(b)) | true a, one test image per class."""
    import matplotlib.pyplot as plt
    pick = [int(np.flatnonzero(labels == c)[0]) for c in range(10)]
    a, b = edges[pick], truth[pick]
    g_a, f_b = translate(nets.G, a), translate(nets.F, b)
    rows = {"a: edges (input)": a, "G(a): translated to a garment": g_a,
            "F(G(a)): back to edges": translate(nets.F, g_a),
            "the true garment (never paired in training)": b,
            "b: a garment (input)": b, "F(b): translated to edges": f_b,
            "G(F(b)): back to a garment": translate(nets.G, f_b),
            "the true edge map": a}
    figure, axes = plt.subplots(len(rows), 1, figsize=(9, 1.3 * len(rows)))
    for axis, (title, row) in zip(axes, rows.items()):
        plots.show_grid(axis, row, title=title, columns=len(pick))
    figure.tight_layout()
    return figure


def pix2pix_l1():
    """Chapter 11's recorded L1 to the truth for pix2pix (its results.json), or None
    when that chapter's results are not beside this one."""
    path = pathlib.Path(__file__).resolve().parents[1] / "11_pix2pix" / "results.json"
    try:
        return json.loads(path.read_text())["figures"]["L1 to the truth: pix2pix"]["value"]
    except (OSError, ValueError, KeyError):
        return None


def plot_training(metrics, evaluations, floor, median_image_l1, ceiling):
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(1, 5, figsize=(23, 3.8))
    steps = [e["step"] for e in evaluations]
    axes[0].plot(steps, [e["cycle_a"] for e in evaluations], marker="o", label="|F(G(a)) - a|")
    axes[0].plot(steps, [e["cycle_b"] for e in evaluations], marker="o", label="|G(F(b)) - b|")
    axes[0].set_title("cycle errors on test images")
    axes[1].plot(steps, [e["l1"] for e in evaluations], marker="o", label="|G(a) - true b|")
    axes[1].axhline(median_image_l1, color="gray", linestyle=":",
                    label="the median training image")
    paired = pix2pix_l1()
    if paired is not None:
        axes[1].axhline(paired, color="black", linestyle="--", label="pix2pix, paired (ch. 11)")
    axes[1].set_title("L1 to the hidden true garment")
    axes[4].plot(steps, [e["class"] for e in evaluations], marker="o", label="G(a)")
    axes[4].axhline(ceiling, color="gray", linestyle=":", label="the true garments")
    axes[4].axhline(0.1, color="black", linestyle="--", label="chance")
    axes[4].set_ylim(0, 1)
    axes[4].set_title("the own classifier names the true garment's class")
    axes[2].plot(steps, [e["fid"] for e in evaluations], marker="o", label="G(test edges)")
    axes[2].axhline(floor, color="gray", linestyle=":", label="real test images (floor)")
    axes[2].set_yscale("log")
    axes[2].set_title("FID to real test images (own features)")
    axes[3].plot(metrics["step"], metrics["d_real_b"], label="D_B(b), real garments")
    axes[3].plot(metrics["step"], metrics["d_fake_b"], label="D_B(pooled G(a))")
    axes[3].set_title("D_B's mean score (1 real, 0 fake)")
    return plots.over_training(figure, axes)


# %%
def add_arguments(parser):
    parser.add_argument("--batch", type=experiment.whole_number(1), default=16)
    parser.add_argument("--lr", type=experiment.number(above=0), default=2e-4)
    parser.add_argument("--lam", type=experiment.number(minimum=0), default=10.0,
                        help="the weight of the cycle loss")
    parser.add_argument("--identity", type=experiment.number(minimum=0), default=0.5,
                        help="the identity loss's weight, as a fraction of --lam")
    parser.add_argument("--pool", type=experiment.whole_number(0), default=50,
                        help="fakes kept for each D (0: none)")
    parser.add_argument("--width", type=experiment.whole_number(1), default=8,
                        help="the generators' first width")
    parser.add_argument("--blocks", type=experiment.whole_number(1), default=3,
                        help="residual blocks per generator")


def main(argv=None):
    args = experiment.parse_args("12_cyclegan", argv, steps=1500, quick_steps=160,
                                 add_arguments=add_arguments,
                                 image_training=experiment.ImageTraining(evaluations=4),
                                 description="Chapter 12: CycleGAN, unpaired edges and garments")
    n = args.fid_samples
    run = experiment.Run("12_cyclegan", args, title="Chapter 12: CycleGAN, unpaired translation")
    network, accuracy = features.load_feature_classifier("fashion-mnist",
                                                         cache_root=args.feature_cache)
    train_images, _ = data.load("fashion-mnist", "train")
    test_images, test_labels = data.load("fashion-mnist", "test")
    # Unpaired: edge maps of the first half of the training images, garments of the second.
    # One Batches draws both in one order; no loss compares a batch's a with its b.
    half = len(train_images) // 2
    domain_a, domain_b = edge_map(train_images[:half]), train_images[half:2 * half]
    # The test set keeps its pairs, to measure with; FID compares with the next n images.
    truth, test_edges = test_images[:n], backend.to_numpy(edge_map(test_images[:n]))
    truth_labels = test_labels[:n]
    ceiling = float(np.mean(features.predict(network, truth)[1].argmax(axis=1) == truth_labels))
    reference = features.predict(network, test_images[n:2 * n])[0]
    floor_fid = fid(features.predict(network, truth)[0], reference)
    median_image = np.median(train_images, axis=0, keepdims=True)
    median_image_l1 = float(np.abs(median_image - truth).mean())

    nets, Ds = Translators(args.width, args.blocks), Discriminators()
    opt_g = minigan.optim.Adam(nets.parameters(), lr=args.lr, betas=(0.5, 0.999))
    opt_d = minigan.optim.Adam(Ds.parameters(), lr=args.lr, betas=(0.5, 0.999))
    pools = ImagePool(args.pool, seed=args.seed), ImagePool(args.pool, seed=args.seed + 1)
    # The pools are part of the state a step depends on: the checkpoint keeps them too.
    trainer = Trainer(make_step(nets, Ds, opt_g, opt_d, pools, args.lam, args.identity),
                      data.Batches(domain_a, domain_b, batch_size=args.batch, seed=args.seed),
                      args.steps, run, G=nets, D=Ds, opt_g=opt_g, opt_d=opt_d,
                      extra_state={"pool_a": pools[0], "pool_b": pools[1]}, log_every=10,
                      checkpoint_every=args.checkpoint_every,
                      evaluate_fn=make_evaluation(network, nets, test_edges, truth,
                                                  truth_labels, reference),
                      evaluate_every=args.evaluate_every, resume=args.resume)
    if trainer.finished:
        return run.already_finished(trainer.step)
    evaluations = trainer.fit()

    run.savefig(plot_round_trips(nets, test_edges, truth, test_labels[:n]), "round_trips",
                "translations and round trips, one test image of each class")
    run.savefig(plot_training(run.metrics(), evaluations, floor_fid, median_image_l1, ceiling),
                "training", "cycle errors, L1 to the truth, FID and D_B's scores over training")
    first, last = evaluations[0], evaluations[-1]   # first: the untrained nets, step 0
    results = {"feature network test accuracy": round(accuracy, 4),
               "cycle error |F(G(a)) - a|": round(last["cycle_a"], 4),
               "cycle error |G(F(b)) - b|": round(last["cycle_b"], 4),
               "cycle error |F(G(a)) - a|: untrained (step 0)": round(first["cycle_a"], 4),
               "cycle error |G(F(b)) - b|: untrained (step 0)": round(first["cycle_b"], 4),
               "L1 to the truth |G(a) - b|": round(last["l1"], 4),
               "L1 to the truth: the median training image": round(median_image_l1, 4),
               "L1 to the truth: untrained G (step 0)": round(first["l1"], 4),
               "L1 to the true edges |F(b) - a|": round(last["l1_edges"], 4),
               "G(a) in the true garment's class": round(last["class"], 4),
               "G(a) in the true garment's class: untrained G (step 0)": round(first["class"], 4),
               "the true garments in their class (the classifier's ceiling)": round(ceiling, 4),
               "FID: G(test edges)": round(last["fid"], 2),
               "FID of real test images (the floor)": round(floor_fid, 2),
               "FID: untrained G (step 0)": round(first["fid"], 2),
               "precision: G(test edges)": round(last["precision"], 3),
               "recall: G(test edges)": round(last["recall"], 3),
               "images per measurement": n, "steps": trainer.step,
               "training seconds (this session)": round(trainer.seconds, 1)}
    run.finish(results, notes="L1 and the cycle errors are mean absolute differences per pixel "
                              "on the [-1, 1] scale. FID is on minigan's own feature network, "
                              "not Inception's: comparable only within minigan.")
    return results


if __name__ == "__main__":
    experiment.command_line(main)
