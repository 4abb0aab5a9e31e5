# %% [markdown]
# # Chapter 05: measuring a GAN
#
# Chapters 03 and 04 measured generators with yardsticks that only work in special
# cases: a Parzen window (crude in 784 dimensions) and counting modes with known
# centres (only in 2-D). The image GANs of the chapters to come are measured the way
# the literature measures them: push real and generated images through a trained
# network, and compare the two clouds of *features*.
#
# * **FID** fits a Gaussian to each cloud and reports the Fréchet distance between them;
# * **KID** is an unbiased estimate of the maximum mean discrepancy with a cubic kernel;
# * **precision and recall** (k = 3) ask how many generated samples fall on the real
#   data's manifold, and how much of that manifold the generated samples cover;
# * **the classifier score** and **class coverage** read the network's class predictions.
#
# The network is minigan's own Fashion-MNIST classifier
# (`minigan.metrics.features`), not Inception-v3. **The FID here is a distance in that
# network's feature space: its numbers are comparable between minigan runs that use the
# same network, never with published (Inception) FIDs.**
#
# No GAN is trained here. Instead we measure sets of *real* images whose quality we
# control (held-out images, the same images noised or blurred by known amounts, subsets
# that drop whole classes, and two trivial "generators"), so that each metric's
# behaviour is visible against a known answer before it is trusted with a GAN.
#
# Run: `python chapters/05_measuring/measuring.py` (a few minutes on two cores once
# the feature network is cached; the first run trains it, about 3 more minutes;
# `--quick` for a first look). Data: see data/README.md.

# %%
import time

import numpy as np
from scipy.ndimage import gaussian_filter

from minigan import data, experiment, plots
from minigan.metrics import features
from minigan.metrics.classifier import class_coverage, classifier_score
from minigan.metrics.fid import fid
from minigan.metrics.kid import kid
from minigan.metrics.precision_recall import precision_recall

CLASS_NAMES = ("T-shirt/top", "trouser", "pullover", "dress", "coat",
               "sandal", "shirt", "sneaker", "bag", "ankle boot")

# %% [markdown]
# ## The feature network and the reference set
#
# `load_feature_classifier` loads the network from its cache, or trains it (8 epochs,
# by its fixed config) and caches it. It maps an image in [-1, 1] to 128 features (the
# last hidden layer) and to 10 class probabilities. Its test accuracy says how much
# its features know about garments: a network that could not tell a shirt from a
# sandal would give distances that cannot either.
#
# The **reference** is N real training images, embedded once. Every set below is
# measured against it, and every set has N images too (all but the mode-dropping sets,
# see there): FID depends on N (see below), so only FIDs at the same N can be compared.


# %%
def embed(model, images):
    """The features (N, 128) and class probabilities (N, 10) of images in [-1, 1]."""
    return features.predict(model, images)


def measure(reference, model, images, args, rng):
    """Every metric of one image set against the reference features, as a dict."""
    generated, probabilities = embed(model, images)
    kid_mean, kid_std = kid(generated, reference, subsets=args.kid_subsets,
                            subset_size=args.kid_subset_size, rng=rng)
    pr = precision_recall(reference, generated, k=3)
    score, _ = classifier_score(probabilities)
    coverage = class_coverage(probabilities.argmax(axis=1), 10)
    return {"FID": fid(generated, reference), "KID": kid_mean, "KID std": kid_std,
            "precision": pr.precision, "recall": pr.recall, "classifier score": score,
            "classes covered": coverage.covered,
            # The classifier errs on about 1 image in 10, so a few stray predictions land in
            # classes the set does not hold; half the uniform share (5%) ignores them.
            "classes at 5% or more": int((coverage.shares >= 0.05).sum()),
            "class reverse KL": coverage.reverse_kl,
            "class shares": coverage.shares}


# %% [markdown]
# ## The best a generator can do: held-out real images, and FID's bias
#
# A perfect generator would produce fresh images of the same distribution: the
# **test** split, which the network never trained on. Its FID to the reference is
# not 0. FID is estimated from a sample mean and a sample covariance, and their
# errors enter it squared: for two independent samples of one distribution,
# E ||mu_1 - mu_2||^2 = 2 Tr(S) / N alone. So FID is **biased upwards, by roughly
# c / N** (Binkowski et al. 2018; Chong and Forsyth 2020):
#
#     E FID_N ≈ FID_∞ + c / N.
#
# We measure FID(test, train) at a few N, 3 random draws each, and fit that line
# against 1/N (on N >= 500): its intercept estimates the FID an infinite sample would
# give, about 0 for two samples of one distribution. KID's
# estimate is unbiased, so it stays near 0 at every N, with no drift as N grows.


# %%
def fid_against_sample_size(reference, test_features, sizes, args, rng, repeats=3):
    """FID and KID of ``repeats`` random draws of n test and n training features, per n."""
    rows = []
    for n in sizes:
        fids, kids = [], []
        for _ in range(repeats):
            a = test_features[rng.choice(len(test_features), n, replace=False)]
            b = reference[rng.choice(len(reference), n, replace=False)]
            fids.append(fid(a, b))
            kids.append(kid(a, b, subsets=args.kid_subsets,
                            subset_size=min(args.kid_subset_size, n), rng=rng)[0])
        rows.append({"N": n, "FID": float(np.mean(fids)), "FID spread": float(np.std(fids)),
                     "KID": float(np.mean(kids)), "KID spread": float(np.std(kids))})
    # Least squares for FID_N = FID_inf + c / N, on N >= 500 only: with fewer than about
    # 4 samples per feature (128 features) the sample covariance is so poor that FID grows
    # faster than 1/N, and those points would bend the line.
    fitted = [r for r in rows if r["N"] >= 500]
    slope, intercept = np.polyfit([1 / r["N"] for r in fitted], [r["FID"] for r in fitted], 1)
    return rows, float(intercept), float(slope)


# %% [markdown]
# ## Damage we control: noise and blur
#
# The same test images, damaged by a known amount:
#
# * **noise**: x + sigma eps, eps ~ N(0, 1) per pixel, clipped back to [-1, 1];
# * **blur**: a Gaussian filter of standard deviation sigma pixels.
#
# A metric worth using must get worse at every step of damage. Precision and recall
# tell *how* the images got worse: precision falls as they leave the data's manifold
# (noise), recall as the set loses the variety of the data (blur erases the details
# that make one garment differ from the next, and the blurred set covers little of it).


# %%
def noised(images, sigma, rng):
    return np.clip(images + sigma * rng.standard_normal(images.shape), -1, 1).astype(np.float32)


def blurred(images, sigma, rng=None):
    # Blur only the two spatial axes of (N, 1, 28, 28), never across images.
    return gaussian_filter(images, sigma=(0, 0, sigma, sigma)).astype(np.float32)


# %% [markdown]
# ## Dropping modes: the failure FID hides and recall shows
#
# A collapsed generator makes perfect images of a few classes. We imitate it with
# test images of only k of the 10 classes, in equal shares. The test split holds
# exactly 1,000 images of each class, so each of these sets has 1,000 images whatever
# k is: one N for all, hence one FID bias. Which k classes matters (trousers are far
# from everything else, T-shirts sit among shirts and pullovers), so for k < 10 we
# draw the classes at random three times and report the mean. Every image is real, so
# **precision stays high**, while **recall** (the share of the reference the set
# covers) falls with k, and FID and the class histogram see it too.


# %%
def keep_classes(images, labels, classes, size):
    """``size`` images of the given classes, size / len(classes) of each (the first ones)."""
    picks = [np.flatnonzero(labels == c)[:size // len(classes)] for c in classes]
    return images[np.concatenate(picks)]


# %% [markdown]
# ## Trivial baselines
#
# Two "generators" that learned nothing about garments, for the top of the scale:
#
# * **uniform noise**: every pixel U(-1, 1);
# * **the mean image plus per-pixel noise**: mean + std eps per pixel, the training
#   images' own per-pixel statistics (chapter 03's baseline), clipped to [-1, 1].
#
# Their FIDs are far above everything real. Watch their precision, though: images
# without structure land where a few wide balls of the real manifold (around outlying
# real images) reach, so precision alone would pass them. Their recall is 0.


# %%
def trivial_baselines(train_images, n, rng):
    mean, std = train_images.mean(axis=0), train_images.std(axis=0)
    uniform = rng.uniform(-1, 1, (n,) + train_images.shape[1:]).astype(np.float32)
    mean_noise = np.clip(mean + std * rng.standard_normal((n,) + mean.shape), -1, 1)
    return {"uniform noise": uniform, "mean image + noise": mean_noise.astype(np.float32)}


# %%
def add_arguments(parser):
    # N from 1000: the fit of FID's bias needs two sizes of at least 500 (500 and 1000).
    parser.add_argument("--n", type=experiment.whole_number(1000, 10_000), default=None,
                        help="images in the reference and in each set (default 5000, quick 1000; "
                             "from 1000 to 10000, the test split's size)")
    parser.add_argument("--noise-levels", type=experiment.number(above=0), nargs="+",
                        default=[0.05, 0.1, 0.2, 0.4, 0.8],
                        help="sigma of the added noise, each > 0 (level 0, the clean set, is "
                             "always measured)")
    parser.add_argument("--blur-levels", type=experiment.number(above=0), nargs="+",
                        default=[0.5, 1.0, 1.5, 2.0, 3.0],
                        help="sigma of the blur in pixels, each > 0")
    parser.add_argument("--classes", type=experiment.whole_number(1, 10), nargs="+",
                        default=[10, 5, 2, 1], help="the k of the mode-dropping sets, 1 to 10")
    parser.add_argument("--class-draws", type=experiment.whole_number(1), default=3,
                        help="random choices of the k classes, for each k < 10 (default 3)")
    parser.add_argument("--kid-subsets", type=experiment.whole_number(1), default=None,
                        help="KID's random subsets (default 100, quick 20)")
    parser.add_argument("--kid-subset-size", type=experiment.whole_number(2), default=None,
                        help="images per KID subset, at least 2 (default 1000, quick 500)")
    parser.add_argument("--feature-cache", default=None,
                        help="the folder the feature network is cached under (default "
                             "MINIGAN_CACHE or ~/.cache/minigan: once per machine)")


# %%
def plot_sweep(name, levels, rows, strips, unit):
    """One damage sweep: example images at each level above, the four metrics below."""
    import matplotlib.pyplot as plt
    figure = plt.figure(figsize=(12, 6.2))
    grid = figure.add_gridspec(2, 3, height_ratios=[1.1, 1])
    top = figure.add_subplot(grid[0, :])
    # One column per level, three example images down each column.
    columns = np.stack(strips, axis=1)                       # (3, levels, 1, 28, 28)
    plots.show_grid(top, columns.reshape(-1, 1, 28, 28), columns=len(levels))
    top.set_title(f"the same three test images at each {name} level (columns: "
                  + ", ".join(f"{unit} = {level:g}" for level in levels) + ")", fontsize=9)
    panels = [("FID (log scale; lower is better)", ["FID"]), ("KID (lower is better)", ["KID"]),
              ("precision and recall", ["precision", "recall"])]
    for column, (title, keys) in enumerate(panels):
        axis = figure.add_subplot(grid[1, column])
        for key in keys:
            axis.plot(levels, [r[key] for r in rows], marker="o", label=key)
        if keys[0] == "KID":
            axis.errorbar(levels, [r["KID"] for r in rows], yerr=[r["KID std"] for r in rows],
                          fmt="none", ecolor="gray", capsize=3, label="± std over subsets")
        if keys[0] == "FID":
            axis.set_yscale("log")
        if keys[0] == "precision":
            axis.set_ylim(-0.03, 1.03)
        axis.set_title(title, fontsize=10)
        axis.set_xlabel(f"{name} {unit}")
        axis.legend(fontsize=8)
    figure.suptitle(f"{name.capitalize()} applied to the test images, measured against "
                    f"the training images (level 0: undamaged)")
    figure.tight_layout()
    return figure


def plot_fid_bias(bias_rows, intercept, slope):
    import matplotlib.pyplot as plt
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    sizes = np.array([r["N"] for r in bias_rows])
    left.errorbar(1 / sizes, [r["FID"] for r in bias_rows],
                  yerr=[r["FID spread"] for r in bias_rows], fmt="o", capsize=3,
                  label="FID(test, train), mean ± std of 3 draws")
    line = np.linspace(0, 1 / sizes.min(), 50)
    left.plot(line, intercept + slope * line, color="gray", linestyle="--",
              label=f"fit on N ≥ 500: {intercept:.2f} + {slope:.0f} / N")
    for n, r in zip(sizes, bias_rows):
        left.annotate(f"N = {n}", (1 / n, r["FID"]), textcoords="offset points",
                      xytext=(-8, 8), ha="right", fontsize=8)
    left.set_xlabel("1 / N")
    left.set_ylabel("FID")
    left.set_xlim(left=0)
    left.set_ylim(bottom=0)
    # Titles say what the points show, no more: three draws per N give a trend, not a law.
    left.set_title("FID of two real samples: a floor that shrinks with N\n"
                   "(dashed: the line fitted on N ≥ 500; N = 250 falls off it)", fontsize=10)
    left.legend(fontsize=8)
    right.errorbar(sizes, [r["KID"] for r in bias_rows], yerr=[r["KID spread"] for r in bias_rows],
                   fmt="o", capsize=3, label="KID(test, train), mean ± std of 3 draws")
    right.axhline(0, color="gray", linestyle=":")
    right.set_xscale("log")
    right.set_xticks(sizes, [str(n) for n in sizes])
    right.minorticks_off()
    right.set_xlabel("N")
    right.set_ylabel("KID")
    right.set_title("KID of the same pairs: scattered about 0, no floor falling with N\n"
                    "(3 draws per N: too few to show a bias smaller than their spread)", fontsize=10)
    right.legend(fontsize=8)
    figure.tight_layout()
    return figure


def plot_mode_dropping(ks, rows, strips):
    import matplotlib.pyplot as plt
    figure = plt.figure(figsize=(13, 7))
    grid = figure.add_gridspec(2, 3, height_ratios=[1, 1.1])
    top = figure.add_subplot(grid[0, :])
    columns = np.stack(strips, axis=1)                       # (4, len(ks), 1, 28, 28)
    plots.show_grid(top, columns.reshape(-1, 1, 28, 28), columns=len(ks))
    top.set_title("random images of each set, its first draw of classes (columns: "
                  + ", ".join(f"k = {k}" for k in ks) + " classes kept)", fontsize=9)
    left = figure.add_subplot(grid[1, 0])
    for key in ("precision", "recall"):
        left.plot(ks, [r[key] for r in rows], marker="o", label=key)
    left.set_ylim(-0.03, 1.03)
    left.set_title("precision stays, recall falls (mean of the draws)", fontsize=10)
    middle = figure.add_subplot(grid[1, 1])
    middle.plot(ks, [r["FID"] for r in rows], marker="o", color="tab:red", label="FID")
    middle.set_title("FID grows as classes go (mean of the draws)", fontsize=10)
    for axis in (left, middle):
        axis.set_xlabel("classes kept, k")
        axis.set_xticks(ks)
        axis.invert_xaxis()
        axis.legend(fontsize=8)
    right = figure.add_subplot(grid[1, 2])
    bottom = np.zeros(len(ks))
    colours = plt.get_cmap("tab10")
    for c in range(10):
        shares = np.array([r["class shares"][c] for r in rows])
        right.bar([str(k) for k in ks], shares, bottom=bottom, color=colours(c),
                  label=CLASS_NAMES[c])
        bottom += shares
    right.set_xlabel("classes kept, k")
    right.set_ylabel("share of the set")
    right.set_title("predicted classes, first draw", fontsize=10)
    right.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    figure.suptitle("Mode dropping: test images of only k classes (1,000 images per set)")
    figure.tight_layout()
    return figure


def plot_overview(table, baseline_images, n_images):
    import matplotlib.pyplot as plt
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8),
                                         gridspec_kw={"width_ratios": [1, 2.2]})
    examples = np.concatenate([images[:4] for images in baseline_images.values()])
    plots.show_grid(left, examples, columns=4)
    left.set_title("top: uniform noise; bottom: mean image + noise", fontsize=9)
    names = list(table)
    # The mode-dropping sets hold 1,000 images, fewer than the others: a different N, so a
    # different bias (the all-classes draw shows it, against the full test set).
    labels = [n if table[n]["images"] == n_images else f"{n} [{table[n]['images']} images]"
              for n in names]
    right.barh(labels, [table[n]["FID"] for n in names], color="tab:blue")
    right.set_xscale("log")
    right.invert_yaxis()
    for i, n in enumerate(names):
        right.text(table[n]["FID"], i, f" {table[n]['FID']:.3g}", va="center", fontsize=8)
    right.set_xlabel("FID to the training images (log scale; lower is better)")
    right.tick_params(axis="y", labelsize=8)
    figure.suptitle(f"Every set's FID against {n_images} training images, from held-out images "
                    f"to the trivial baselines ({n_images} images a set unless marked)")
    figure.tight_layout()
    return figure


def markdown_table(table):
    lines = ["| set | images | FID | KID | precision | recall | classifier score | "
             "classes predicted | at 5% or more | class reverse KL |", "| --- " * 10 + "|"]
    for name, r in table.items():
        lines.append(f"| {name} | {r['images']} | {r['FID']:.3g} | {r['KID']:.3g} ± "
                     f"{r['KID std']:.2g} | {r['precision']:.3f} | {r['recall']:.3f} | "
                     f"{r['classifier score']:.2f} | {r['classes covered']} | "
                     f"{r['classes at 5% or more']} | "
                     f"{r['class reverse KL']:.3f} |")
    return "\n".join(lines)


def main(argv=None):
    args = experiment.parse_args("05_measuring", argv, steps=0, quick_steps=0,
                                 add_arguments=add_arguments,
                                 description="Chapter 05: measuring a GAN")
    args.n = args.n or (1000 if args.quick else 5000)
    args.kid_subsets = args.kid_subsets or (20 if args.quick else 100)
    args.kid_subset_size = args.kid_subset_size or (500 if args.quick else 1000)
    run = experiment.Run("05_measuring", args, title="Chapter 05: measuring a GAN")
    start = time.perf_counter()
    rng = np.random.default_rng(args.seed)

    model, accuracy = features.load_feature_classifier("fashion-mnist",
                                                       cache_root=args.feature_cache)
    print(f"feature network: test accuracy {100 * accuracy:.2f}%")
    train_images, _ = data.load("fashion-mnist", "train")
    test_images, test_labels = data.load("fashion-mnist", "test")
    train_images = train_images[rng.choice(len(train_images), args.n, replace=False)]
    reference, _ = embed(model, train_images)
    test_all, _ = embed(model, test_images)
    test_pick = rng.choice(len(test_images), args.n, replace=False)
    test_set = test_images[test_pick]

    table, results_modes = {}, {}

    def record(name, images):
        row = measure(reference, model, images, args, rng)
        row["images"] = len(images)
        table[name] = row
        run.log(set=name, images=len(images), fid=row["FID"], kid=row["KID"],
                precision=row["precision"], recall=row["recall"],
                classifier_score=row["classifier score"], classes=row["classes covered"])
        print(f"  {name}: FID {row['FID']:.3g}, precision {row['precision']:.3f}, "
              f"recall {row['recall']:.3f}")
        return row

    clean = record("test images", test_set)

    sizes = [n for n in (250, 500, 1000, 2000, 5000) if n <= args.n]
    bias_rows, fid_infinity, fid_slope = fid_against_sample_size(reference, test_all, sizes,
                                                                 args, rng)

    # Three fixed test images follow each damage, so the strip shows the same garments.
    shown = test_set[:3]
    for name, damage, levels in [("noise", noised, args.noise_levels),
                                 ("blur", blurred, args.blur_levels)]:
        rows, strips = [clean], [shown]
        for level in levels:
            rows.append(record(f"{name} σ={level:g}", damage(test_set, level, rng)))
            strips.append(damage(shown, level, rng))
        run.savefig(plot_sweep(name, [0.0] + list(levels), rows, strips, "σ"), name,
                    f"{name}: example images per level, and FID, KID, precision and recall")

    mode_rows, mode_strips = [], []
    for k in args.classes:
        draws = []
        for draw in range(1 if k == 10 else args.class_draws):
            classes = sorted(rng.choice(10, k, replace=False).tolist())
            images = keep_classes(test_images, test_labels, classes, 1000)
            if k == 10:
                names = "all 10 classes"
            elif k > 2:
                names = "classes " + ", ".join(map(str, classes))
            else:
                names = ", ".join(CLASS_NAMES[c] for c in classes)
            draws.append(record(f"{k} of 10 classes, draw {draw + 1} ({names})", images))
            if draw == 0:
                mode_strips.append(images[rng.choice(len(images), 4, replace=False)])
        mean = {key: float(np.mean([d[key] for d in draws]))
                for key in ("FID", "KID", "precision", "recall", "classifier score",
                            "class reverse KL", "classes covered", "classes at 5% or more")}
        mean["class shares"] = draws[0]["class shares"]
        mode_rows.append(mean)
        results_modes[k] = mean
    run.savefig(plot_mode_dropping(args.classes, mode_rows, mode_strips), "mode_dropping",
                "test images of only k classes: precision, recall, FID and the class histogram")

    baselines = trivial_baselines(train_images, args.n, rng)
    for name, images in baselines.items():
        record(name, images)
    run.savefig(plot_overview(table, baselines, args.n), "all_sets", "every set's FID, and the "
                                                             "trivial baselines' images")
    run.savefig(plot_fid_bias(bias_rows, fid_infinity, fid_slope), "fid_bias",
                "FID(test, train) against 1/N, and KID against N")

    results = {"feature network test accuracy": accuracy, "N": args.n}
    for name, row in table.items():
        if "draw" in name:      # each draw is in the table of summary.md; their mean is below
            continue
        for key in ("FID", "KID", "precision", "recall", "classifier score",
                    "classes covered", "classes at 5% or more", "class reverse KL"):
            value = row[key]
            results[f"{name}: {key}"] = value if isinstance(value, int) else round(value, 5)
    for k, row in results_modes.items():
        for key in ("FID", "precision", "recall", "classifier score", "class reverse KL",
                    "classes covered", "classes at 5% or more"):
            results[f"{k} of 10 classes, mean over draws: {key}"] = round(row[key], 5)
    for row in bias_rows:
        results[f"FID(test, train) at N={row['N']}"] = round(row["FID"], 4)
        results[f"KID(test, train) at N={row['N']}"] = round(row["KID"], 5)
    results["FID_inf (intercept of FID = FID_inf + c / N, fit on N >= 500)"] = \
        round(fid_infinity, 4)
    results["c (slope of FID against 1/N)"] = round(fid_slope, 1)
    results["seconds"] = round(time.perf_counter() - start, 1)

    bias_table = ["| N | FID(test, train) | KID(test, train) |", "| --- | --- | --- |"]
    bias_table += [f"| {r['N']} | {r['FID']:.3f} ± {r['FID spread']:.3f} | "
                   f"{r['KID']:.3f} ± {r['KID spread']:.3f} |" for r in bias_rows]
    notes = (f"Feature network: minigan's own Fashion-MNIST classifier, test accuracy "
             f"{100 * accuracy:.2f}%. FID and KID are in its feature space: comparable only "
             f"within minigan, never with Inception FIDs.\n\n"
             f"Every set against {args.n} training images (k = 3 for precision and recall; "
             f"KID over {args.kid_subsets} subsets of {args.kid_subset_size}):\n\n"
             + markdown_table(table)
             + "\n\nFID's bias: 3 random draws of N test and N training images each; "
               f"fit on N >= 500: FID = {fid_infinity:.3f} + {fid_slope:.1f} / N.\n\n"
             + "\n".join(bias_table))
    run.finish(results, notes=notes)
    return results


if __name__ == "__main__":
    experiment.command_line(main)
