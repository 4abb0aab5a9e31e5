# %% [markdown]
# # Chapter 08: InfoGAN, codes that find their own meaning
#
# Chapter 07 told G the class. InfoGAN (Chen et al. 2016) tells it nothing: G gets
# noise z and a *code* (here one categorical variable c with 10 values and two
# continuous u1, u2 ~ U(-1, 1)), and a third network Q must guess the code back from
# the image. Maximising the mutual information I(c; G(z, c)) forces G to draw images
# from which the code can be read off; since the easiest code to read is one that
# changes what the image *is*, the categorical code tends to pick out the classes and
# the continuous ones smooth variations such as width or slant, unsupervised.
#
# I(c; G(z, c)) = H(c) - H(c | G(z, c)) cannot be computed, but for any Q(c | x)
#
#     I(c; G(z, c)) >= E_{c ~ p(c), x ~ G(z, c)}[log Q(c | x)] + H(c) = H(c) - L_I     (1)
#
# (the gap is E_x KL(p(c | x) || Q(c | x)) >= 0). With Q a softmax for c and a
# Gaussian of unit variance for u, L_I is the cross-entropy of c plus half the squared
# error of u. The game is  min_{G, Q} max_D  V(D, G) + lambda L_I(G, Q).
#
# Run: `python chapters/08_infogan/infogan.py`
# (minutes on two cores; `--quick` for a first look; `--resume --out DIR` continues).

# %%
import math

import numpy as np
import scipy.optimize

import minigan
import minigan.nn.functional as F
from minigan import backend, data, experiment, models, plots
from minigan.gan import losses
from minigan.metrics import features
from minigan.metrics.fid import fid
from minigan.training import Trainer, evaluating

CATEGORIES, CONTINUOUS = 10, 2

# %% [markdown]
# ## The networks (`minigan.models.InfoGenerator`, `InfoDiscriminator`)
#
#     G: concatenate(z (62), onehot(c) (10), u (2)) -> the DCGAN-28 generator
#     D: x -> trunk (D's two convolutions, flattened to 6272)
#              -> Linear(6272, 1)                          D's logit
#              -> Linear(6272, 128)-BN-LeakyReLU-Linear     Q: 10 logits for c, 2 means for u
#
# Q shares D's trunk, as in the paper: the features that tell real from fake also tell
# one kind of garment from another, and Q costs one small head, not another network.


# %%
def make_models(noise_dim):
    spec = models.generator_spec(models.InfoGenerator, z_dim=noise_dim, categories=CATEGORIES,
                                 continuous=CONTINUOUS)
    return models.build(spec), models.InfoDiscriminator(CATEGORIES, CONTINUOUS), spec


def sample_codes(n):
    """c ~ Uniform{0..9} and u ~ U(-1, 1)^2, the codes' prior."""
    category = backend.rng().integers(0, CATEGORIES, size=n)
    continuous = minigan.rand(n, CONTINUOUS) * 2 - 1
    return category, continuous


# %% [markdown]
# ## The information loss and one step
#
#     L_I = E[-log Q(c | x)] + lambda_u E[1/2 ||u - mu_Q(x)||^2]      x = G(z, c, u)
#
# The first term is `F.cross_entropy` of Q's logits and c; the second is the negative
# log-likelihood of u under N(mu_Q(x), I), up to a constant. Both players that share Q
# lower it: D's update (on the detached fakes) trains Q's head and the shared trunk, G's
# update trains G to make its codes legible. D's own loss and G's non-saturating loss
# are chapter 06's.


# %%
def information_loss(category_logits, continuous_means, category, continuous, weight_u):
    nll_c = F.cross_entropy(category_logits, category)
    nll_u = 0.5 * ((continuous_means - continuous) ** 2).sum(axis=1).mean()
    return nll_c + weight_u * nll_u, nll_c


def make_step(G, D, opt_g, opt_d, batch_size, noise_dim, weight_info, weight_u):
    def step(real):
        category, continuous = sample_codes(batch_size)
        fake = G(minigan.randn(batch_size, noise_dim), category, continuous)
        real_logits, _, _ = D(real)
        fake_logits, c_logits, u_means = D(fake.detach())
        info_d, _ = information_loss(c_logits, u_means, category, continuous, weight_u)
        loss_d = losses.discriminator_loss(real_logits, fake_logits)
        opt_d.zero_grad()
        (loss_d + weight_info * info_d).backward()
        opt_d.step()
        fake_logits, c_logits, u_means = D(fake)
        info_g, nll_c = information_loss(c_logits, u_means, category, continuous, weight_u)
        loss_g = losses.generator_loss_nonsaturating(fake_logits)
        opt_g.zero_grad()
        (loss_g + weight_info * info_g).backward()
        opt_g.step()
        return {"loss_d": loss_d, "loss_g": loss_g, "info": info_g,
                "mi_lower_bound": math.log(CATEGORIES) - nll_c}
    return step


# %% [markdown]
# ## Measuring what the codes mean
#
# The Trainer evaluates at step 0, every `--evaluate-every` steps and at the end, on
# `--fid-samples` images of G (fresh z and codes) and as many real test images:
#
# * **Q reads G's codes**: the share of generated images whose c Q recovers, and the
#   correlation of Q's guess of each u with the true u. Near 1 when G uses its codes.
#   The bound (1) for c alone, log 10 - E[-log Q(c | x)], is logged during training;
#   it cannot exceed H(c) = log 10 = 2.303 nats.
# * **The categorical code against the true classes** (unsupervised clustering): Q
#   assigns every real test image to one of the 10 codes; the codes carry no names, so
#   we match codes to classes one to one so as to agree on the most images (the
#   Hungarian algorithm, `scipy.optimize.linear_sum_assignment`) and report the share
#   that then agrees: the clustering accuracy, 0.1 for chance. The same matching on
#   G's side classifies G(z, c) with chapter 05's feature network.
# * FID to the test images, as in chapter 06.


# %%
def best_matching_accuracy(codes, labels, n=CATEGORIES):
    """max over one-to-one maps m of mean(m(codes) == labels), and that map (code -> class)."""
    counts = np.zeros((n, n))
    np.add.at(counts, (codes, labels), 1)
    rows, columns = scipy.optimize.linear_sum_assignment(counts, maximize=True)
    return counts[rows, columns].sum() / len(codes), dict(zip(rows.tolist(), columns.tolist()))


def q_predictions(D, images, batch=500):
    with evaluating(D):
        parts = [D(minigan.tensor(images[i:i + batch])) for i in range(0, len(images), batch)]
    return (np.concatenate([backend.to_numpy(p[1].data).argmax(axis=1) for p in parts]),
            np.concatenate([backend.to_numpy(p[2].data) for p in parts]))


def make_evaluation(network, G, D, reference, real_images, real_labels, n, noise_dim):
    def evaluate(step):
        category, continuous = sample_codes(n)
        with evaluating(G):
            images = G(minigan.randn(n, noise_dim), category, continuous).numpy()
        category, continuous = backend.to_numpy(category), continuous.numpy()
        q_category, q_continuous = q_predictions(D, images)
        generated, probabilities = features.predict(network, images)
        clustering, matching = best_matching_accuracy(q_predictions(D, real_images)[0],
                                                      real_labels)
        generator_side, _ = best_matching_accuracy(category, probabilities.argmax(axis=1))
        return {"q_category_accuracy": float(np.mean(q_category == category)),
                "q_continuous_correlation": [float(np.corrcoef(q_continuous[:, k],
                                                               continuous[:, k])[0, 1])
                                             for k in range(CONTINUOUS)],
                "clustering_accuracy": clustering,
                # the class of each code as a list: a checkpoint keeps it as it is (its
                # JSON would turn a dict's keys into strings)
                "matching": [matching[code] for code in range(CATEGORIES)],
                "generated_clustering_accuracy": generator_side,
                "fid": fid(generated, reference)}
    return evaluate


# %%
def plot_codes(G, noise_dim, matching, rows=6, columns=9):
    """Left: one z per row, the categorical code per column (in the order of the classes
    they were matched to). Middle and right: c fixed per row, one u swept from -2 to 2
    (beyond the prior's [-1, 1], to show the trend), the other u at 0."""
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(1, 3, figsize=(20, 5.2))
    order = sorted(range(CATEGORIES), key=lambda code: matching[code])
    z = np.repeat(minigan.randn(rows, noise_dim).numpy(), CATEGORIES, axis=0)
    category = np.tile(np.array(order), rows)
    with evaluating(G):
        images = G(minigan.tensor(z), backend.asarray(category),
                   minigan.zeros(len(z), CONTINUOUS)).numpy()
        plots.show_grid(axes[0], images, columns=CATEGORIES,
                        title="one z per row; c = 0..9 across (sorted by matched class)")
        sweep = np.linspace(-2, 2, columns)
        z = np.repeat(minigan.randn(rows, noise_dim).numpy(), columns, axis=0)
        category = np.repeat(np.array(order[:rows]), columns)
        for k in range(CONTINUOUS):
            u = np.zeros((len(z), CONTINUOUS), dtype=np.float32)
            u[:, k] = np.tile(sweep, rows)
            images = G(minigan.tensor(z), backend.asarray(category), minigan.tensor(u)).numpy()
            plots.show_grid(axes[1 + k], images, columns=columns,
                            title=f"u{k + 1} from -2 to 2 across, one c per row")
    return figure


def plot_training(metrics, evaluations):
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    axes[0].plot(metrics["step"], metrics["loss_d"], label="D loss")
    axes[0].plot(metrics["step"], metrics["loss_g"], label="G loss")
    axes[0].set_title("losses")
    axes[1].plot(metrics["step"], metrics["mi_lower_bound"])
    axes[1].axhline(math.log(CATEGORIES), color="gray", linestyle=":", label="H(c) = log 10")
    axes[1].set_title("lower bound on I(c; G(z, c)), nats")
    steps = [e["step"] for e in evaluations]
    axes[2].plot(steps, [e["clustering_accuracy"] for e in evaluations], marker="o",
                 label="Q on real test images")
    axes[2].plot(steps, [e["generated_clustering_accuracy"] for e in evaluations], marker="o",
                 label="classifier on G(z, c)")
    axes[2].axhline(0.1, color="gray", linestyle=":", label="chance")
    axes[2].set_title("clustering accuracy of c (best matching)")
    return plots.over_training(figure, axes)


# %%
def add_arguments(parser):
    parser.add_argument("--batch", type=experiment.whole_number(1), default=64)
    parser.add_argument("--lr-g", type=experiment.number(above=0), default=1e-3,
                        help="G's learning rate (1e-3, as the paper's MNIST model)")
    parser.add_argument("--lr-d", type=experiment.number(above=0), default=2e-4)
    parser.add_argument("--noise-dim", type=experiment.whole_number(1), default=62)
    parser.add_argument("--info-weight", type=experiment.number(minimum=0), default=1.0,
                        help="lambda of L_I")
    parser.add_argument("--continuous-weight", type=experiment.number(minimum=0), default=0.1,
                        help="lambda_u, the continuous codes' share of L_I")


def main(argv=None):
    args = experiment.parse_args("08_infogan", argv, steps=1800, quick_steps=150,
                                 add_arguments=add_arguments,
                                 image_training=experiment.ImageTraining(evaluations=6),
                                 description="Chapter 08: InfoGAN on Fashion-MNIST")
    run = experiment.Run("08_infogan", args, title="Chapter 08: InfoGAN on Fashion-MNIST")
    network, accuracy = features.load_feature_classifier("fashion-mnist",
                                                         cache_root=args.feature_cache)
    test_images, test_labels = data.load("fashion-mnist", "test")
    train_images, _ = data.load("fashion-mnist", "train")   # no labels: InfoGAN never sees them
    real_images, real_labels = test_images[:args.fid_samples], backend.to_numpy(
        test_labels[:args.fid_samples])
    reference = features.predict(network, real_images)[0]

    G, D, spec = make_models(args.noise_dim)
    opt_g = minigan.optim.Adam(G.parameters(), lr=args.lr_g, betas=(0.5, 0.999))
    opt_d = minigan.optim.Adam(D.parameters(), lr=args.lr_d, betas=(0.5, 0.999))
    trainer = Trainer(make_step(G, D, opt_g, opt_d, args.batch, args.noise_dim,
                                args.info_weight, args.continuous_weight),
                      data.Batches(train_images, batch_size=args.batch, seed=args.seed),
                      args.steps, run, G=G, D=D, opt_g=opt_g, opt_d=opt_d, spec=spec,
                      log_every=10, checkpoint_every=args.checkpoint_every,
                      evaluate_fn=make_evaluation(network, G, D, reference, real_images,
                                                  real_labels, args.fid_samples,
                                                  args.noise_dim),
                      evaluate_every=args.evaluate_every, resume=args.resume)
    if trainer.finished:
        return run.already_finished(trainer.step)
    evaluations = trainer.fit()

    first, last = evaluations[0], evaluations[-1]
    run.savefig(plot_codes(G, args.noise_dim, last["matching"]), "codes",
                "varying the categorical code and each continuous code")
    run.savefig(plot_training(run.metrics(), evaluations), "training",
                "losses, the information bound and the clustering accuracy over training")
    results = {"feature network test accuracy": round(accuracy, 4),
               "Q recovers c on generated images": round(last["q_category_accuracy"], 4),
               "correlation of Q's u1, u2 with the true u": [round(r, 3) for r in
                                                            last["q_continuous_correlation"]],
               "clustering accuracy of c on real test images": round(
                   last["clustering_accuracy"], 4),
               "clustering accuracy at step 0": round(first["clustering_accuracy"], 4),
               "clustering accuracy of G(z, c) by the classifier": round(
                   last["generated_clustering_accuracy"], 4),
               "matching (code -> class)": {str(code): c
                                            for code, c in enumerate(last["matching"])},
               "FID at the end": round(last["fid"], 2),
               "images per measurement": args.fid_samples, "steps": trainer.step,
               "training seconds (this session)": round(trainer.seconds, 1)}
    run.finish(results, notes="Clustering accuracy: the share of images on which the code "
                              "agrees with the true class after the best one-to-one matching "
                              "of codes to classes (0.1 is chance). FID on minigan's own "
                              "feature network.")
    return results


if __name__ == "__main__":
    experiment.command_line(main)
