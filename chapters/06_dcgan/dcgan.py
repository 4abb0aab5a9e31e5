# %% [markdown]
# # Chapter 06: DCGAN on Fashion-MNIST
#
# Radford, Metz & Chintala (2015) found the recipe that made convolutional GANs
# train reliably: strided convolutions instead of pooling, transposed convolutions
# to upsample, batch norm in both networks (but not on G's output or D's input),
# ReLU in G and LeakyReLU(0.2) in D, Adam with lr 2e-4 and beta1 = 0.5, weights
# drawn from N(0, 0.02). This chapter trains that recipe at 28x28 on Fashion-MNIST
# with minigan's training loop (`minigan.training.Trainer`: progress, metrics,
# sample grids, checkpoints you can resume) and measures it with chapter 05's FID,
# precision and recall, on minigan's own feature network.
#
# Run: `python chapters/06_dcgan/dcgan.py` (minutes on
# two cores; `--quick` for a first look; `--resume --out DIR` continues a killed run).

# %%
import numpy as np

import minigan
import minigan.nn.functional as F
from minigan import data, experiment, models, plots
from minigan.gan import losses
from minigan.metrics import features
from minigan.training import Trainer, evaluating, generate

# %% [markdown]
# ## The two networks (`minigan.models`)
#
#     G: z (100) -> ConvT(100, 256, 7, 1, 0) + BN + ReLU     (256, 7, 7)
#                -> ConvT(256, 128, 4, 2, 1) + BN + ReLU     (128, 14, 14)
#                -> ConvT(128, 1, 4, 2, 1) + Tanh            (1, 28, 28)
#     D: x       -> Conv(1, 64, 4, 2, 1) + LeakyReLU(0.2)    (64, 14, 14)
#                -> Conv(64, 128, 4, 2, 1) + BN + LeakyReLU  (128, 7, 7)
#                -> Flatten -> Linear(6272, 1)               a logit
#
# Each stride-2 layer doubles (G) or halves (D) the side; the kernel of 4 is a
# multiple of the stride, so every output pixel of G's transposed convolutions
# gets the same number of contributions and there is no checkerboard (chapter 01).
# The spec names the function that builds G, so `python -m minigan sample
# runs/06_dcgan/<run>/latest.ckpt` can rebuild it from the checkpoint alone.


# %%
def make_models(z_dim):
    spec = models.generator_spec(models.dcgan28_generator, z_dim=z_dim)
    return models.build(spec), models.dcgan28_discriminator(), spec


# %% [markdown]
# ## One step of training
#
# D ascends log D(x) + log(1 - D(G(z))) on a real batch and a generated one; G
# descends -log D(G(z)) (the non-saturating loss of chapter 02). Besides the losses
# the step reports D's mean probability on real and on generated images: at the
# game's equilibrium both would be 1/2.


# %%
def make_step(G, D, opt_g, opt_d, batch_size, z_dim):
    def step(real):
        fake = G(minigan.randn(batch_size, z_dim))
        real_logits, fake_logits = D(real), D(fake.detach())
        loss_d = losses.discriminator_loss(real_logits, fake_logits)
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = losses.generator_loss_nonsaturating(D(fake))
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        return {"loss_d": loss_d, "loss_g": loss_g,
                "d_real": F.sigmoid(real_logits).mean(),
                "d_fake": F.sigmoid(fake_logits).mean()}
    return step


# %% [markdown]
# ## Measuring over training
#
# The Trainer evaluates G at step 0, every `--evaluate-every` steps and at the end. G
# draws `--fid-samples` images (in evaluation mode: batch norm uses its running
# statistics, as `python -m minigan sample` does), and we compare their features with
# those of as many real *test* images: FID, precision and recall (k = 3). The same number
# of held-out training images against the test images gives the floor a perfect
# generator would reach at this sample size (FID is biased upwards at finite N, chapter
# 05). Each evaluation also keeps G's images of one fixed set of z, to watch them change.


# %%
def make_evaluation(network, G, reference, n, z_dim, fixed_z):
    def evaluate(step):
        with evaluating(G):
            samples = G(fixed_z).numpy()
        return {**features.image_scores(network, generate(G, n, z_dim), reference),
                "samples": samples}
    return evaluate


# %%
def plot_training(metrics, evaluations, floor):
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    axes[0].plot(metrics["step"], metrics["loss_d"], label="D loss")
    axes[0].plot(metrics["step"], metrics["loss_g"], label="G loss")
    axes[0].set_title("losses")
    axes[1].plot(metrics["step"], metrics["d_real"], label="D(x), real")
    axes[1].plot(metrics["step"], metrics["d_fake"], label="D(G(z)), generated")
    axes[1].axhline(0.5, color="gray", linestyle=":")
    axes[1].set_title("D's mean probability of 'real'")
    steps = [e["step"] for e in evaluations]
    axes[2].plot(steps, [e["fid"] for e in evaluations], marker="o", label="DCGAN")
    axes[2].axhline(floor, color="gray", linestyle=":", label="held-out real images")
    axes[2].set_yscale("log")
    axes[2].set_title("FID to the test images (own features; lower is better)")
    return plots.over_training(figure, axes)


def plot_interpolation(G, z_dim, rows=6, columns=10):
    """G along straight lines between pairs of z: a smooth G changes garments smoothly."""
    import matplotlib.pyplot as plt
    ends = minigan.randn(2 * rows, z_dim).numpy().reshape(rows, 2, z_dim)
    t = np.linspace(0, 1, columns)[None, :, None]
    z = (1 - t) * ends[:, :1] + t * ends[:, 1:]
    with evaluating(G):
        images = G(minigan.tensor(z.reshape(-1, z_dim), dtype="float32")).numpy()
    figure, axis = plt.subplots(figsize=(columns * 0.9, rows * 0.95))
    plots.show_grid(axis, images, columns=columns,
                    title="z moving in a straight line from left to right")
    return figure


# %%
def add_arguments(parser):
    parser.add_argument("--batch", type=experiment.whole_number(1), default=64)
    parser.add_argument("--lr", type=experiment.number(above=0), default=2e-4)
    parser.add_argument("--z-dim", type=experiment.whole_number(1), default=100)


def main(argv=None):
    args = experiment.parse_args("06_dcgan", argv, steps=1800, quick_steps=150,
                                 add_arguments=add_arguments,
                                 image_training=experiment.ImageTraining(evaluations=6),
                                 description="Chapter 06: DCGAN on Fashion-MNIST")
    run = experiment.Run("06_dcgan", args, title="Chapter 06: DCGAN on Fashion-MNIST")
    network, accuracy = features.load_feature_classifier("fashion-mnist",
                                                         cache_root=args.feature_cache)
    reference, floor_fid = features.reference_and_floor(network, args.fid_samples)
    train_images, _ = data.load("fashion-mnist", "train")

    G, D, spec = make_models(args.z_dim)
    opt_g = minigan.optim.Adam(G.parameters(), lr=args.lr, betas=(0.5, 0.999))
    opt_d = minigan.optim.Adam(D.parameters(), lr=args.lr, betas=(0.5, 0.999))
    fixed_z = minigan.randn(36, args.z_dim)
    trainer = Trainer(make_step(G, D, opt_g, opt_d, args.batch, args.z_dim),
                      data.Batches(train_images, batch_size=args.batch, seed=args.seed),
                      args.steps, run, G=G, D=D, opt_g=opt_g, opt_d=opt_d, spec=spec,
                      log_every=10, checkpoint_every=args.checkpoint_every,
                      evaluate_fn=make_evaluation(network, G, reference, args.fid_samples,
                                                  args.z_dim, fixed_z),
                      evaluate_every=args.evaluate_every, resume=args.resume)
    if trainer.finished:
        return run.already_finished(trainer.step)
    evaluations = trainer.fit()

    run.savefig(plots.grids_over_training({e["step"]: e["samples"] for e in evaluations}),
                "samples", "samples of a fixed z over training")
    run.savefig(plot_training(run.metrics(), evaluations, floor_fid), "training",
                "losses, D's outputs and FID over training")
    run.savefig(plot_interpolation(G, args.z_dim), "interpolation", "straight lines in z")
    first, last = evaluations[0], evaluations[-1]
    results = {"feature network test accuracy": round(accuracy, 4),
               "FID at step 0": round(first["fid"], 2),
               "FID at the end": round(last["fid"], 2),
               "precision at the end": round(last["precision"], 3),
               "recall at the end": round(last["recall"], 3),
               "FID of held-out real images (the floor)": round(floor_fid, 2),
               "images per FID": args.fid_samples, "steps": trainer.step,
               "training seconds (this session)": round(trainer.seconds, 1)}
    run.finish(results, notes="FID is on minigan's own feature network, not Inception's: "
                              "comparable only within minigan.")
    return results


if __name__ == "__main__":
    experiment.command_line(main)
