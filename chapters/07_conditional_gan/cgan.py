# %% [markdown]
# # Chapter 07: the conditional GAN
#
# Chapter 06's generator draws a garment, but which one is up to chance. Mirza &
# Osindero (2014) gave both players the label y: G(z, y) must draw a garment of class y,
# and D(x, y) judges whether x is a real garment *of class y*. The game becomes
#
#     min_G max_D  E_{(x, y) ~ data}[log D(x, y)] + E_{z, y ~ p(y)}[log(1 - D(G(z, y), y))]
#
# and its optimum is G's conditional p_g(x | y) = p_data(x | y) for every class: a
# sample of the wrong class is a fake however real it looks, because D sees the label.
# We keep the DCGAN networks of chapter 06 and add the label as a one-hot vector: to G
# as ten more inputs next to z, to D as ten constant feature maps next to the image.
# Then we ask the own classifier of chapter 05 whether each generated garment is the
# class that was asked for.
#
# Run: `python chapters/07_conditional_gan/cgan.py`
# (minutes on two cores; `--quick` for a first look; `--resume --out DIR` continues).

# %%
import numpy as np

import minigan
import minigan.nn.functional as F
from minigan import backend, data, experiment, models, plots
from minigan.gan import losses
from minigan.metrics import features
from minigan.metrics.fid import fid
from minigan.training import Trainer, evaluating

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
           "Sneaker", "Bag", "Ankle boot"]

# %% [markdown]
# ## The label into both networks (`minigan.models`)
#
#     G(z, y) = DCGAN-28 generator( concatenate(z, onehot(y)) )           (100 + 10 inputs)
#     D(x, y) = DCGAN-28 discriminator( concatenate(x, onehot(y) as 10 maps of 28x28) )
#
# `models.one_hot(y, 10)` is row y of the 10x10 identity. In G the one-hot code is just
# ten more entries of the input vector, so the first transposed convolution gives each
# class its own added pattern of 7x7 maps. In D the label becomes ten constant images
# (map y all ones, the others zero) stacked behind the garment, so D's first
# convolution sees both at once. This is the simplest way in; an embedding (a learned
# vector per class) or a projection (Miyato & Koyama 2018) are the refinements.


# %%
def make_models(z_dim, num_classes=10):
    spec = models.generator_spec(models.ConditionalGenerator, z_dim=z_dim,
                                 num_classes=num_classes)
    return models.build(spec), models.ConditionalDiscriminator(num_classes), spec


# %% [markdown]
# ## One step of training
#
# Real images come with their labels. For the fakes we draw labels uniformly (the
# classes of Fashion-MNIST are balanced) and give D the label G was asked for: D learns
# to reject a good-looking shirt that was requested as a sandal, and G's only way to
# fool it is to draw what it was asked.


# %%
def random_labels(n, num_classes=10):
    return backend.rng().integers(0, num_classes, size=n)


def make_step(G, D, opt_g, opt_d, batch_size, z_dim):
    def step(batch):
        real, real_labels = batch
        fake_labels = random_labels(batch_size)
        fake = G(minigan.randn(batch_size, z_dim), fake_labels)
        real_logits = D(real, real_labels)
        fake_logits = D(fake.detach(), fake_labels)
        loss_d = losses.discriminator_loss(real_logits, fake_logits)
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = losses.generator_loss_nonsaturating(D(fake, fake_labels))
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        return {"loss_d": loss_d, "loss_g": loss_g,
                "d_real": F.sigmoid(real_logits).mean(),
                "d_fake": F.sigmoid(fake_logits).mean()}
    return step


# %% [markdown]
# ## Did G draw what it was asked?
#
# The Trainer evaluates G at step 0, every `--evaluate-every` steps and at the end. We
# ask G for `--fid-samples` garments, the same number of each class (200 of each by
# default), and let the feature network of chapter 05 (90.8% accurate on real test
# images) classify them. The *accuracy by requested class* is the share it puts in the
# requested class; the confusion matrix shows where the rest go. The classifier's own
# accuracy on as many real test images is the comparison: where it confuses real shirts
# with T-shirts, it will confuse generated ones too, so a generator can score above the
# real images (if it draws prototypical garments) as well as below. FID, on all classes
# together against as many test images, checks that the garments are varied and
# realistic, not only recognisable.


# %%
def generate_by_class(G, n, z_dim, num_classes=10, batch=500):
    """``n`` images, the classes in equal shares (the first ``n % num_classes`` classes
    one more), class 0 first: (images, requested labels)."""
    labels = np.sort(np.arange(n) % num_classes)
    with evaluating(G):
        images = np.concatenate([
            backend.to_numpy(G(minigan.randn(len(part), z_dim), backend.asarray(part)).data)
            for part in np.array_split(labels, max(1, len(labels) // batch))])
    return images, labels


def accuracy_by_class(predicted, requested, num_classes=10):
    """share of samples of each requested class that the classifier puts in that class."""
    return np.array([np.mean(predicted[requested == c] == c) for c in range(num_classes)])


def confusion_matrix(predicted, requested, num_classes=10):
    """row c: how the samples requested as class c were classified (each row sums to 1)."""
    counts = np.zeros((num_classes, num_classes))
    np.add.at(counts, (requested, predicted), 1)
    return counts / counts.sum(axis=1, keepdims=True)


def make_evaluation(network, G, reference, n, z_dim):
    def evaluate(step):
        images, requested = generate_by_class(G, n, z_dim)
        generated, probabilities = features.predict(network, images)
        predicted = probabilities.argmax(axis=1)
        by_class = accuracy_by_class(predicted, requested)
        return {"accuracy": float(by_class.mean()), "fid": fid(generated, reference),
                "by_class": by_class, "confusion": confusion_matrix(predicted, requested)}
    return evaluate


# %%
def plot_class_grid(G, z_dim, rows=8, num_classes=10):
    """One fixed z per row, one class per column: z carries the style, y the class."""
    import matplotlib.pyplot as plt
    z = np.repeat(minigan.randn(rows, z_dim).numpy(), num_classes, axis=0)
    labels = np.tile(np.arange(num_classes), rows)
    with evaluating(G):
        images = G(minigan.tensor(z), backend.asarray(labels)).numpy()
    figure, axis = plt.subplots(figsize=(num_classes * 0.95, rows * 1.0 + 0.6))
    plots.show_grid(axis, images, columns=num_classes,
                    title="one z per row, the requested class per column")
    for c, name in enumerate(CLASSES):
        axis.text((c + 0.5) / num_classes, -0.01, name, transform=axis.transAxes,
                  ha="center", va="top", fontsize=7)
    return figure


def plot_accuracy(result, real_by_class):
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(1, 2, figsize=(13, 4.6))
    positions = np.arange(len(CLASSES))
    axes[0].bar(positions - 0.2, real_by_class, 0.4, label="real test images")
    axes[0].bar(positions + 0.2, result["by_class"], 0.4, label="generated, by requested class")
    axes[0].set_xticks(positions, CLASSES, rotation=45, ha="right", fontsize=8)
    axes[0].set_ylim(0, 1.05)
    axes[0].set_title("the own classifier's accuracy")
    axes[0].legend(fontsize=8, loc="lower left")
    axes[1].imshow(result["confusion"], cmap="Blues", vmin=0, vmax=1)
    axes[1].set_xticks(positions, CLASSES, rotation=45, ha="right", fontsize=8)
    axes[1].set_yticks(positions, CLASSES, fontsize=8)
    axes[1].set_xlabel("classified as")
    axes[1].set_ylabel("requested")
    axes[1].set_title("where the generated garments of each class are classified")
    figure.tight_layout()
    return figure


def plot_training(evaluations, real_accuracy):
    import matplotlib.pyplot as plt
    steps = [e["step"] for e in evaluations]
    figure, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    axes[0].plot(steps, [e["accuracy"] for e in evaluations], marker="o", label="generated")
    axes[0].axhline(real_accuracy, color="gray", linestyle=":", label="real test images")
    axes[0].set_title("accuracy by requested class (mean over classes)")
    axes[1].plot(steps, [e["fid"] for e in evaluations], marker="o")
    axes[1].set_yscale("log")
    axes[1].set_title("FID to the test images (own features)")
    axes[0].legend(fontsize=8)
    return plots.over_training(figure, axes, legend=False)


# %%
def add_arguments(parser):
    parser.add_argument("--batch", type=experiment.whole_number(1), default=64)
    parser.add_argument("--lr", type=experiment.number(above=0), default=2e-4)
    parser.add_argument("--z-dim", type=experiment.whole_number(1), default=100)


def main(argv=None):
    args = experiment.parse_args("07_conditional_gan", argv, steps=1800, quick_steps=150,
                                 add_arguments=add_arguments,
                                 image_training=experiment.ImageTraining(evaluations=6),
                                 description="Chapter 07: the conditional GAN on Fashion-MNIST")
    if args.fid_samples < len(CLASSES):
        raise experiment.UsageError(f"--fid-samples {args.fid_samples}: give at least "
                                    f"{len(CLASSES)}, so that every class has an image")
    run = experiment.Run("07_conditional_gan", args,
                         title="Chapter 07: the conditional GAN on Fashion-MNIST")
    network, accuracy = features.load_feature_classifier("fashion-mnist",
                                                         cache_root=args.feature_cache)
    test_images, test_labels = data.load("fashion-mnist", "test")
    train_images, train_labels = data.load("fashion-mnist", "train")
    reference, test_probabilities = features.predict(network, test_images[:args.fid_samples])
    real_by_class = accuracy_by_class(test_probabilities.argmax(axis=1),
                                      test_labels[:args.fid_samples])

    G, D, spec = make_models(args.z_dim)
    opt_g = minigan.optim.Adam(G.parameters(), lr=args.lr, betas=(0.5, 0.999))
    opt_d = minigan.optim.Adam(D.parameters(), lr=args.lr, betas=(0.5, 0.999))
    trainer = Trainer(make_step(G, D, opt_g, opt_d, args.batch, args.z_dim),
                      data.Batches(train_images, train_labels, batch_size=args.batch,
                                   seed=args.seed),
                      args.steps, run, G=G, D=D, opt_g=opt_g, opt_d=opt_d, spec=spec,
                      log_every=10, checkpoint_every=args.checkpoint_every,
                      evaluate_fn=make_evaluation(network, G, reference, args.fid_samples,
                                                  args.z_dim),
                      evaluate_every=args.evaluate_every, resume=args.resume)
    if trainer.finished:
        return run.already_finished(trainer.step)
    evaluations = trainer.fit()

    first, last = evaluations[0], evaluations[-1]
    run.savefig(plot_class_grid(G, args.z_dim), "class_grid",
                "one fixed z per row, one class per column")
    run.savefig(plot_accuracy(last, real_by_class), "accuracy",
                "the own classifier's accuracy by requested class, and the confusion matrix")
    run.savefig(plot_training(evaluations, float(real_by_class.mean())), "training",
                "accuracy by requested class and FID over training")
    results = {"feature network test accuracy": round(accuracy, 4),
               "accuracy by requested class (mean)": round(last["accuracy"], 4),
               "lowest class accuracy": round(float(last["by_class"].min()), 4),
               "lowest class": CLASSES[int(last["by_class"].argmin())],
               "classifier accuracy on the same number of real test images":
                   round(float(real_by_class.mean()), 4),
               "accuracy at step 0": round(first["accuracy"], 4),
               "FID at the end": round(last["fid"], 2),
               "images per measurement (all classes)": args.fid_samples, "steps": trainer.step,
               "training seconds (this session)": round(trainer.seconds, 1)}
    for name, value in zip(CLASSES, last["by_class"]):
        results[f"accuracy: {name}"] = round(float(value), 3)
    run.finish(results, notes="Accuracy and FID are measured with minigan's own feature "
                              "network (chapter 05), not Inception: comparable only within "
                              "minigan.")
    return results


if __name__ == "__main__":
    experiment.command_line(main)
