# %% [markdown]
# # Chapter 01: kernels, the four computations a DCGAN spends its time in
#
# A DCGAN is built from four kernels: the convolution of its discriminator, the
# transposed convolution of its generator, batch normalisation between layers,
# and the Adam optimizer that updates both. This chapter opens each one in
# minigan (`minigan/ops/conv.py`, `minigan/nn/functional.py`, `minigan/optim.py`),
# checks it against its definition, and shows one thing about it that matters
# when a GAN trains: the memory im2col costs, the checkerboard a stride-2
# transposed convolution leaves, the gradient that flows through the batch
# statistics, and the step size Adam takes on its first steps.
#
# Run it with `python chapters/01_kernels/kernels.py` (add `--quick` for a first
# look). It writes its figures and a summary to `runs/01_kernels/`.

# %%
import numpy as np

import minigan
import minigan.nn.functional as F
from minigan import experiment, optim
from minigan.ops import conv_reference
from minigan.ops.normalization import batch_norm_composed


def tensor(array, requires_grad=False):
    """A float64 minigan tensor on the current device (float64: errors are then rounding only)."""
    return minigan.tensor(np.asarray(array, dtype=np.float64), requires_grad=requires_grad)


# %% [markdown]
# ## 1. im2col: a convolution becomes one matrix product
#
# For x of shape (N, C, H, W) and a weight W of shape (O, C, kh, kw), stride s
# and padding p, the convolution (strictly a cross-correlation) is
#
#     y[n, o, a, b] = sum_{c, i, j} W[o, c, i, j] xpad[n, c, s a + i, s b + j]      (1)
#
# Computed as written, that is six nested loops. **im2col** instead copies every
# receptive field into a column of a matrix: row (c, i, j), column (n, a, b)
# holds xpad[n, c, s a + i, s b + j]. Then (1) is one matrix product,
#
#     y = W.reshape(O, C kh kw) @ cols          (O, N Ho Wo)
#
# which BLAS (or cuBLAS) runs at full speed. `cols` can be built with a loop
# over the kh x kw kernel offsets, each one a strided slice of the padded input
# (exercise 1.1): `minigan.ops.conv_reference` does exactly that, in this order.
# minigan's fast kernel (`minigan.ops.conv`) computes the same sums from a
# channels-last copy of the input, and is tested against the reference. The price
# is memory: each input pixel is copied into about kh kw / s^2 columns.
#
# We check the matrix product against (1) computed one output pixel at a time.


# %%
def conv2d_by_loop(x, w, stride, padding):
    """Equation (1), one output pixel at a time: the definition im2col must reproduce."""
    n, c, h, width = x.shape
    o, _, kh, kw = w.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho = (h + 2 * padding - kh) // stride + 1
    wo = (width + 2 * padding - kw) // stride + 1
    y = np.zeros((n, o, ho, wo), dtype=x.dtype)
    for a in range(ho):
        for b in range(wo):
            patch = xpad[:, :, stride * a:stride * a + kh, stride * b:stride * b + kw]
            y[:, :, a, b] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3]))
    return y


# (N, C, H, W), out channels, kernel, stride, padding: a spread of shapes, DCGAN's 4/2/1 among them
CONV_CASES = [((2, 3, 9, 9), 4, 3, 1, 1), ((2, 3, 9, 8), 4, 3, 2, 1), ((2, 2, 16, 16), 3, 4, 2, 1),
              ((1, 3, 7, 7), 2, 5, 3, 2), ((2, 1, 28, 28), 8, 4, 2, 1), ((3, 2, 6, 5), 2, 1, 1, 0)]


def check_conv2d(rng):
    """The largest |conv2d by im2col - conv2d by the loop| over CONV_CASES (float64)."""
    worst = 0.0
    for shape, out_channels, k, stride, padding in CONV_CASES:
        x = rng.standard_normal(shape)
        w = rng.standard_normal((out_channels, shape[1], k, k))
        y = F.conv2d(tensor(x), tensor(w), stride=stride, padding=padding).numpy()
        worst = max(worst, float(np.max(np.abs(y - conv2d_by_loop(x, w, stride, padding)))))
    return worst


def im2col_copies(size=16, channels=8, kernel=4, stride=2, padding=1):
    """How many times im2col copies each input value: cols.size / x.size (theory kh kw / s^2)."""
    x = np.zeros((1, channels, size, size))
    cols = conv_reference.im2col(np, x, (kernel, kernel), (stride, stride), (padding, padding))
    return cols.size / x.size


def im2col_picture(size=5, kernel=3):
    """im2col of a size x size image whose pixel values are their own indices 0, 1, 2, ...

    Every entry of the column matrix then names the pixel it was copied from.
    Returns the image (size, size) and the matrix (kernel^2, out^2).
    """
    image = np.arange(size * size, dtype=np.float64).reshape(1, 1, size, size)
    out = conv_reference.conv_output_size(size, kernel, 1, 0)
    cols = conv_reference.im2col(np, image, (kernel, kernel), (1, 1), (0, 0))
    return image[0, 0], cols.reshape(kernel * kernel, out * out)


# %% [markdown]
# ## 2. conv_transpose2d is the adjoint of conv2d
#
# conv2d is linear in x, so it is a matrix M applied to the flattened image. Its
# **transpose** M^T is what the backward pass needs (dL/dx = M^T dL/dy), and
# what a DCGAN generator uses to go from small feature maps to large ones. The
# transpose is defined by one identity: for every x and y,
#
#     <conv2d(x, W), y> = <x, conv_transpose2d(y, W)>                      (2)
#
# minigan computes it as cols = W^T @ y followed by **col2im**, the adjoint of
# im2col, which adds every column entry back onto the pixel it was copied from.
# No kernel flip appears: the flip of the textbook "full convolution" is hidden
# in the transpose of the column matrix.
#
# We test (2) on random x, y and W at stride 2, and build both matrices
# explicitly (apply each map to every basis image) to see M^T with our eyes.


# %%
# (N, C, H, W), out channels, kernel, padding, at stride 2; odd sizes need output_padding
ADJOINT_CASES = [((2, 3, 8, 8), 4, 4, 1), ((2, 3, 9, 9), 4, 4, 1), ((1, 2, 7, 6), 3, 3, 0),
                 ((2, 2, 10, 10), 3, 3, 1), ((1, 4, 11, 11), 2, 5, 2), ((2, 1, 5, 5), 2, 2, 0)]


def adjoint_gap(rng, shape, out_channels, kernel, padding, stride=2):
    """The gap in (2) for random x, y, W, relative to its scale |conv2d(x, W)| |y|."""
    x = rng.standard_normal(shape)
    w = rng.standard_normal((out_channels, shape[1], kernel, kernel))
    conv = F.conv2d(tensor(x), tensor(w), stride=stride, padding=padding).numpy()
    y = rng.standard_normal(conv.shape)
    # a strided conv skips the last rows when (H + 2p - k) is not a multiple of s; put them back
    output_padding = tuple(n - ((m - 1) * stride - 2 * padding + kernel)
                           for n, m in zip(shape[2:], conv.shape[2:]))
    back = F.conv_transpose2d(tensor(y), tensor(w), stride=stride, padding=padding,
                              output_padding=output_padding).numpy()
    assert back.shape == x.shape
    return abs(np.sum(conv * y) - np.sum(x * back)) / (np.linalg.norm(conv) * np.linalg.norm(y))


def operator_matrix(function, in_shape):
    """The matrix of a linear map of images: column k is the map applied to basis image k."""
    columns = []
    for k in range(int(np.prod(in_shape))):
        basis = np.zeros(int(np.prod(in_shape)))
        basis[k] = 1.0
        columns.append(function(tensor(basis.reshape(in_shape))).numpy().ravel())
    return np.stack(columns, axis=1)


def conv_matrices(size=5, stride=2, padding=1):
    """The matrices of conv2d and of conv_transpose2d for one 3x3 kernel holding 1, ..., 9."""
    w = tensor(np.arange(1.0, 10.0).reshape(1, 1, 3, 3))
    out = conv_reference.conv_output_size(size, 3, stride, padding)
    conv = operator_matrix(lambda x: F.conv2d(x, w, stride=stride, padding=padding),
                           (1, 1, size, size))
    transposed = operator_matrix(lambda y: F.conv_transpose2d(y, w, stride=stride,
                                                              padding=padding),
                                 (1, 1, out, out))
    return conv, transposed


# %% [markdown]
# ## 3. The checkerboard of a stride-2 transposed convolution
#
# conv_transpose2d scatters a k x k patch of the kernel for every input pixel,
# patches s pixels apart, and adds them where they overlap. Along one axis an
# output pixel is covered by floor(k/s) or ceil(k/s) patches; in two dimensions
# by the product of the two axes' counts. With k = 3 and s = 2 the counts are
# 1 and 2 per axis, so 1, 2 and 4 in the plane: feed a constant image through a
# kernel of ones and the output is a checkerboard whose interior varies by a
# factor of
#
#     max / min = (ceil(k/s) / floor(k/s))^2 = 4   for k = 3, s = 2,
#
# and 1 (flat) whenever s divides k, as for DCGAN's k = 4, s = 2. A trained
# generator can learn weights that hide uneven overlap, but it starts from a
# pattern it must first undo (Odena, Dumoulin and Olah, "Deconvolution and
# checkerboard artifacts", 2016). We measure the ratio away from the border,
# where fewer patches reach.


# %%
def overlap_counts(kernel, stride=2, size=6):
    """conv_transpose2d of a size x size image of ones with a kernel of ones: overlap counts."""
    ones = tensor(np.ones((1, 1, size, size)))
    return F.conv_transpose2d(ones, tensor(np.ones((1, 1, kernel, kernel))),
                              stride=stride).numpy()[0, 0]


def interior(counts, kernel):
    """The counts at least kernel - 1 pixels from the border (where every patch can reach)."""
    return counts[kernel - 1:counts.shape[0] - kernel + 1, kernel - 1:counts.shape[1] - kernel + 1]


def checkerboard_ratio(kernel, stride=2):
    """max / min of the interior overlap counts, measured."""
    inner = interior(overlap_counts(kernel, stride), kernel)
    return float(inner.max() / inner.min())


def checkerboard_theory(kernel, stride=2):
    """(ceil(k/s) / floor(k/s))^2: the ratio of the most to the least covered pixel."""
    return (-(-kernel // stride) / (kernel // stride)) ** 2


# %% [markdown]
# ## 4. Batch norm's backward goes through the batch statistics
#
# In training, batch norm normalises each channel c with the mean and (biased)
# variance of the batch, over the N, H, W axes (m values per channel):
#
#     mu = mean(x),  sigma^2 = mean((x - mu)^2),  xhat = (x - mu) / sqrt(sigma^2 + eps),
#     y = gamma xhat + beta.
#
# mu and sigma depend on every x in the batch, so each output depends on every
# input of its channel. Differentiating through them gives the classic backward,
# with g = dL/dy:
#
#     dL/dx = gamma / sigma * (g - mean(g) - xhat mean(g xhat))              (3)
#
# i.e. g / sigma with its components along 1 and along xhat removed. Those are
# the two directions batch norm cannot see: adding a constant to a channel or
# scaling it leaves y unchanged, so the gradient has no component along them
# (exactly for the shift; for the scale up to eps). In particular the gradient
# sums to zero over each channel. Treating mu and sigma as constants gives
# gamma g / sigma instead: wrong, and it does not sum to zero.
#
# Written as a composition of primitives (mean, subtraction, sqrt, division;
# `minigan.ops.normalization.batch_norm_composed`), batch norm needs no backward
# of its own: autograd finds (3) by itself. minigan's `F.batch_norm` runs a fused
# kernel instead (a few passes instead of ten; see `minigan/ops/normalization.py`)
# whose backward *is* (3). We check autograd-through-the-composition against (3),
# and the fused kernel, first and second order, by finite differences.


# %%
def batch_norm_gradients(rng, shape=(8, 3, 4, 4), eps=1e-5):
    """dL/dx of training-mode batch norm: by autograd through the composition, by (3),
    and with constant statistics."""
    channels = shape[1]
    scale = rng.uniform(0.5, 3.0, (1, channels, 1, 1))
    shift = rng.uniform(-2.0, 2.0, (1, channels, 1, 1))
    x = rng.standard_normal(shape) * scale + shift
    g = rng.standard_normal(shape)
    gamma, beta = rng.uniform(0.5, 1.5, channels), rng.standard_normal(channels)

    x_t = tensor(x, requires_grad=True)
    y = batch_norm_composed(x_t, tensor(gamma), tensor(beta), eps)
    (autograd,) = minigan.grad(y, x_t, tensor(g))
    autograd = autograd.numpy()

    axes = (0, 2, 3)
    mu = x.mean(axis=axes, keepdims=True)
    sigma = np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    x_hat = (x - mu) / sigma
    gamma_c = gamma.reshape(1, channels, 1, 1)
    equation_3 = gamma_c / sigma * (g - g.mean(axis=axes, keepdims=True)
                                    - x_hat * (g * x_hat).mean(axis=axes, keepdims=True))
    constants = gamma_c * g / sigma
    return autograd, equation_3, constants


def batch_norm_checks(rng, shape=(4, 2, 3, 3)):
    """gradcheck and gradgradcheck of training-mode batch norm in x, gamma and beta."""
    x = tensor(rng.standard_normal(shape) * 2 + 1, requires_grad=True)
    gamma = tensor(rng.uniform(0.5, 1.5, shape[1]), requires_grad=True)
    beta = tensor(rng.standard_normal(shape[1]), requires_grad=True)

    def normalise(x, gamma, beta):
        return F.batch_norm(x, None, None, gamma, beta, training=True)

    return (minigan.gradcheck(normalise, [x, gamma, beta]),
            minigan.gradgradcheck(normalise, [x, gamma, beta]))


# %% [markdown]
# ## 5. Adam and its bias correction
#
# Adam keeps running means of the gradient and of its square, both starting at 0:
#
#     m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2,
#     p <- p - lr m_hat / (sqrt(v_hat) + eps),  m_hat = m / (1 - b1^t),  v_hat = v / (1 - b2^t).
#
# At t = 1, m_hat = g and v_hat = g^2, so every parameter moves by lr sign(g),
# whatever the size of its gradient: lr is the step size, in the units of the
# parameter. Without the correction the first step is lr (1 - b1) / sqrt(1 - b2)
# (v starts further from its target than m), 3.2 lr for the default betas and
# 15.8 lr for DCGAN's (0.5, 0.999). For a constant gradient the uncorrected step is
#
#     lr (1 - b1^t) / sqrt(1 - b2^t)                                        (4)
#
# which only approaches lr after a few thousand steps. Seen the other way round,
# bias correction is a learning-rate schedule: Adam without it is Adam with it
# and lr_t = lr (1 - b1^t) / sqrt(1 - b2^t) (eps aside), which is how we run the
# uncorrected version below with minigan's own Adam.
#
# Why it matters: a DCGAN's weights start small (standard deviation 0.02) and
# its Adam runs with lr = 2e-4, betas = (0.5, 0.999). Without the correction
# its first steps would be 16 times lr. We see the same thing on
# f(p) = p^2 / 2 started near its minimum, at p = 0.05 with lr = 0.01: Adam
# walks in, while the uncorrected first step jumps past the minimum to twice
# the starting distance.


# %%
def adam_first_step(lr=1e-3):
    """One Adam step on parameters whose gradients range from 1e-4 to 1e4: |dp| / lr each."""
    gradients = 10.0 ** np.arange(-4, 5) * np.where(np.arange(9) % 2 == 0, 1.0, -1.0)
    p = tensor(np.zeros(9), requires_grad=True)
    opt = optim.Adam([p], lr=lr)
    p.grad = tensor(gradients)
    opt.step()
    moved = p.numpy()
    assert np.all(np.sign(moved) == -np.sign(gradients)), "Adam must step against the gradient"
    return gradients, np.abs(moved) / lr


def adam_step_sizes(steps, betas, lr=1e-3, gradient=1.0):
    """|dp_t| / lr under a constant gradient: Adam's step, and the step without bias correction.

    The uncorrected step lr m / (sqrt(v) + eps) is read from the same optimizer's m and v.
    """
    p = tensor(np.zeros(1), requires_grad=True)
    opt = optim.Adam([p], lr=lr, betas=betas)
    corrected, uncorrected = np.zeros(steps), np.zeros(steps)
    for t in range(steps):
        before = p.numpy()[0]
        p.grad = tensor([gradient])
        opt.step()
        state = opt.state[p]
        m = minigan.backend.to_numpy(state["exp_avg"])[0]
        v = minigan.backend.to_numpy(state["exp_avg_sq"])[0]
        corrected[t] = abs(p.numpy()[0] - before) / lr
        uncorrected[t] = abs(m / (np.sqrt(v) + 1e-8))
    return corrected, uncorrected


def uncorrected_multiplier(t, betas):
    """Equation (4) divided by lr: (1 - b1^t) / sqrt(1 - b2^t)."""
    b1, b2 = betas
    return (1 - b1 ** t) / np.sqrt(1 - b2 ** t)


def adam_on_quadratic(steps, bias_correction, start=0.05, lr=0.01, betas=(0.5, 0.999)):
    """p_t for f(p) = p^2 / 2 from p = start, with or without bias correction (as a schedule)."""
    p = tensor([start], requires_grad=True)
    opt = optim.Adam([p], lr=lr, betas=betas)
    path = [start]
    for t in range(1, steps + 1):
        p.grad = tensor(p.numpy())                     # f'(p) = p
        if not bias_correction:
            opt.param_groups[0]["lr"] = lr * uncorrected_multiplier(t, betas)
        opt.step()
        path.append(float(p.numpy()[0]))
    return np.array(path)


# %% [markdown]
# ## Putting it together: the figures


# %%
def plot_im2col(image, cols, kernel=3, field=(1, 2)):
    """The image, the column matrix (each entry names its source pixel), and the output grid."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle
    size, out = image.shape[0], image.shape[0] - kernel + 1
    a, b = field
    column = a * out + b
    figure, axes = plt.subplots(1, 3, figsize=(13, 4.6),
                                gridspec_kw={"width_ratios": [size, cols.shape[1], out + 2]})
    style = dict(cmap="Blues", vmin=-8, vmax=image.max() + 4)

    axes[0].imshow(image, **style)
    for (r, c), value in np.ndenumerate(image):
        axes[0].text(c, r, f"{int(value)}", ha="center", va="center", fontsize=10)
    axes[0].add_patch(Rectangle((b - 0.5, a - 0.5), kernel, kernel, fill=False, edgecolor="red",
                                linewidth=2.5))
    axes[0].set_title(f"input x ({size}x{size}), pixels numbered;\n"
                      f"red: the receptive field of output ({a}, {b})")
    axes[0].set_xlabel("w")
    axes[0].set_ylabel("h")

    axes[1].imshow(cols, **style)
    for (r, c), value in np.ndenumerate(cols):
        axes[1].text(c, r, f"{int(value)}", ha="center", va="center", fontsize=9)
    axes[1].add_patch(Rectangle((column - 0.5, -0.5), 1, cols.shape[0], fill=False,
                                edgecolor="red", linewidth=2.5))
    axes[1].set_xticks(range(cols.shape[1]))
    axes[1].set_xticklabels([f"{i // out},{i % out}" for i in range(cols.shape[1])], fontsize=8)
    axes[1].set_yticks(range(cols.shape[0]))
    axes[1].set_yticklabels([f"{i // kernel},{i % kernel}" for i in range(cols.shape[0])],
                            fontsize=8)
    axes[1].set_xlabel("column = output position (a, b)")
    axes[1].set_ylabel("row = kernel offset (i, j)")
    axes[1].set_title("im2col(x): column (a, b) holds the receptive field\n"
                      "cols[(i, j), (a, b)] = x[a + i, b + j]")

    axes[2].imshow(np.zeros((out, out)), cmap="Greys", vmin=0, vmax=1)
    for (r, c), _ in np.ndenumerate(np.zeros((out, out))):
        axes[2].text(c, r, f"{r},{c}", ha="center", va="center", fontsize=10)
    axes[2].add_patch(Rectangle((b - 0.5, a - 0.5), 1, 1, fill=False, edgecolor="red",
                                linewidth=2.5))
    axes[2].set_xticks(range(out))
    axes[2].set_yticks(range(out))
    axes[2].set_xlabel("b")
    axes[2].set_ylabel("a")
    axes[2].set_title(f"y = W.reshape(O, {kernel * kernel}) @ cols:\n"
                      f"y[:, {a}, {b}] = W . column ({a}, {b})")
    figure.tight_layout()
    return figure


def plot_adjoint(conv, transposed):
    """The matrix of conv2d and the matrix of conv_transpose2d, side by side."""
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(1, 2, figsize=(12, 6),
                                gridspec_kw={"width_ratios": [conv.shape[1],
                                                              transposed.shape[1] + 6]})
    for axis, matrix, title, rows, cols in [
            (axes[0], conv, "conv2d as a matrix M", "output pixel (3x3, flattened)",
             "input pixel (5x5, flattened)"),
            (axes[1], transposed, "conv_transpose2d as a matrix: M$^T$", "output pixel (5x5)",
             "input pixel (3x3)")]:
        axis.imshow(matrix, cmap="Blues", vmin=-2, vmax=10)
        for (r, c), value in np.ndenumerate(matrix):
            if value:
                axis.text(c, r, f"{int(value)}", ha="center", va="center", fontsize=7)
        axis.set_title(title)
        axis.set_ylabel(rows)
        axis.set_xlabel(cols)
    figure.suptitle("3x3 kernel holding 1..9, stride 2, padding 1: each row of M is the kernel "
                    "laid over one receptive field;\nconv_transpose2d's matrix is M transposed "
                    "(no kernel flip)", fontsize=10)
    figure.tight_layout()
    return figure


def plot_checkerboard(kernels=(3, 4)):
    """Overlap counts of a stride-2 transposed convolution of ones, for each kernel size."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle
    figure, axes = plt.subplots(1, len(kernels), figsize=(6 * len(kernels), 5.6))
    for axis, k in zip(axes, kernels):
        counts = overlap_counts(k)
        image = axis.imshow(counts, cmap="magma", vmin=0, vmax=counts.max())
        for (r, c), value in np.ndenumerate(counts):
            axis.text(c, r, f"{int(value)}", ha="center", va="center", fontsize=7,
                      color="white" if value < 0.6 * counts.max() else "black")
        n = counts.shape[0] - 2 * (k - 1)
        axis.add_patch(Rectangle((k - 1.5, k - 1.5), n, n, fill=False, edgecolor="cyan",
                                 linestyle="--", linewidth=1.5))
        axis.set_title(f"kernel {k}x{k}, stride 2: interior max/min = "
                       f"{checkerboard_ratio(k):g}")
        axis.set_xlabel("output w")
        axis.set_ylabel("output h")
        figure.colorbar(image, ax=axis, fraction=0.046, label="patches covering the pixel")
    figure.suptitle("conv_transpose2d(ones 6x6, kernel of ones): how many kernel patches add up "
                    "at each output pixel (dashed: interior)", fontsize=10)
    figure.tight_layout()
    return figure


def plot_adam(curves, steps_quadratic, paths):
    """Adam's step size with and without bias correction, and a quadratic's first steps."""
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    t = np.arange(1, len(next(iter(curves.values()))[0]) + 1)
    for (betas, (corrected, uncorrected)), color in zip(curves.items(), ["C0", "C3"]):
        axes[0].plot(t, uncorrected, color=color, linewidth=2.5, alpha=0.7,
                     label=f"without bias correction, betas={betas}")
        axes[0].plot(t, uncorrected_multiplier(t, betas), color="black", linestyle=":",
                     linewidth=1.2)
        axes[0].plot(t, corrected, color="black", linestyle="--", linewidth=1.2)
    axes[0].plot([], [], color="black", linestyle=":", linewidth=1.2,
                 label="theory (4): (1 - b1^t) / sqrt(1 - b2^t)")
    axes[0].plot([], [], color="black", linestyle="--", linewidth=1.2,
                 label="Adam (with bias correction), both betas")
    axes[0].set_xscale("log")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("step t")
    axes[0].set_ylabel("|step| / lr")
    axes[0].set_title("step size under a constant gradient")
    axes[0].legend(fontsize=8, loc="upper right")

    steps = np.arange(steps_quadratic + 1)
    for (label, path), style in zip(paths.items(), ["o-", "s-"]):
        axes[1].plot(steps, path, style, markersize=3, label=label)
    axes[1].axhline(0.0, color="grey", linewidth=0.8)
    axes[1].set_xlabel("step t")
    axes[1].set_ylabel("parameter p")
    axes[1].set_title("f(p) = p^2 / 2 from p = 0.05, lr = 0.01, betas = (0.5, 0.999)")
    axes[1].legend(fontsize=8)
    figure.tight_layout()
    return figure


def main(argv=None):
    args = experiment.parse_args("01_kernels", argv, steps=3000, quick_steps=300,
                                 description="Chapter 01: conv2d, conv_transpose2d, batch norm, "
                                             "Adam")
    run = experiment.Run("01_kernels", args, title="Chapter 01: kernels")
    rng = np.random.default_rng(args.seed)

    # 1. im2col
    conv_error = check_conv2d(rng)
    copies = im2col_copies()
    image, cols = im2col_picture()
    run.savefig(plot_im2col(image, cols), "im2col",
                "what im2col builds: one column per output position, one row per kernel offset")

    # 2. the adjoint
    adjoint_errors = [adjoint_gap(rng, *case) for case in ADJOINT_CASES]
    conv_matrix, transposed_matrix = conv_matrices()
    matrix_gap = float(np.max(np.abs(transposed_matrix - conv_matrix.T)))
    run.savefig(plot_adjoint(conv_matrix, transposed_matrix), "adjoint",
                "the matrices of conv2d and conv_transpose2d: one is the other's transpose")

    # 3. the checkerboard
    ratios = {k: checkerboard_ratio(k) for k in range(2, 8)}
    run.savefig(plot_checkerboard(), "checkerboard",
                "overlap counts of a stride-2 transposed convolution: 3x3 uneven, 4x4 even")

    # 4. batch norm
    autograd, equation_3, constants = batch_norm_gradients(rng)
    bn_gradcheck, bn_gradgradcheck = batch_norm_checks(rng)

    # 5. Adam
    gradients, first_steps = adam_first_step()
    curves = {betas: adam_step_sizes(args.steps, betas) for betas in [(0.9, 0.999), (0.5, 0.999)]}
    for t in range(args.steps):
        run.log(step=t + 1, adam_default=curves[(0.9, 0.999)][0][t],
                uncorrected_default=curves[(0.9, 0.999)][1][t],
                adam_dcgan=curves[(0.5, 0.999)][0][t], uncorrected_dcgan=curves[(0.5, 0.999)][1][t])
    quadratic_steps = 20
    paths = {"Adam (with bias correction)": adam_on_quadratic(quadratic_steps, True),
             "without bias correction": adam_on_quadratic(quadratic_steps, False)}
    run.savefig(plot_adam(curves, quadratic_steps, paths), "adam",
                "Adam's step size with and without bias correction")

    uncorrected_default = curves[(0.9, 0.999)][1]
    results = {
        "conv2d by im2col vs by loop, max |error|": conv_error,
        "im2col copies per input value (k=4, s=2, p=1)": copies,
        "adjoint identity (2), stride 2, max relative error": max(adjoint_errors),
        "max |matrix of conv_transpose2d - M^T|": matrix_gap,
        "checkerboard max/min, k=3 s=2": ratios[3],
        "checkerboard max/min, k=4 s=2": ratios[4],
        "checkerboard max/min equals (ceil(k/s)/floor(k/s))^2, k=2..7":
            all(ratios[k] == checkerboard_theory(k) for k in ratios),
        "batch norm: max |autograd - equation (3)|": float(np.max(np.abs(autograd - equation_3))),
        "batch norm: max |per-channel sum of dL/dx|":
            float(np.max(np.abs(autograd.sum(axis=(0, 2, 3))))),
        "batch norm, statistics as constants: max |per-channel sum|":
            float(np.max(np.abs(constants.sum(axis=(0, 2, 3))))),
        "batch norm, statistics as constants: relative error":
            float(np.linalg.norm(constants - autograd) / np.linalg.norm(autograd)),
        "batch norm gradcheck": bn_gradcheck,
        "batch norm gradgradcheck": bn_gradgradcheck,
        "Adam first step |dp|/lr, min over |g| in 1e-4..1e4": float(first_steps.min()),
        "Adam first step |dp|/lr, max over |g| in 1e-4..1e4": float(first_steps.max()),
        "uncorrected first step / lr, betas (0.9, 0.999)": float(uncorrected_default[0]),
        "uncorrected first step / lr, betas (0.5, 0.999)": float(curves[(0.5, 0.999)][1][0]),
        "uncorrected largest step / lr, betas (0.9, 0.999)": float(uncorrected_default.max()),
        "uncorrected largest step at t": int(np.argmax(uncorrected_default)) + 1,
        f"uncorrected step / lr at t={args.steps}": float(uncorrected_default[-1]),
        "quadratic from p=0.05: p after step 1, with correction":
            float(paths["Adam (with bias correction)"][1]),
        "quadratic from p=0.05: p after step 1, without correction":
            float(paths["without bias correction"][1]),
    }
    table = ["| kernel k (stride 2) | " + " | ".join(str(k) for k in ratios) + " |",
             "| --- |" + " --- |" * len(ratios),
             "| measured max/min | " + " | ".join(f"{r:g}" for r in ratios.values()) + " |",
             "| (ceil(k/s)/floor(k/s))^2 | "
             + " | ".join(f"{checkerboard_theory(k):g}" for k in ratios) + " |"]
    run.finish(results, notes="Checkerboard of a stride-2 transposed convolution:\n\n"
               + "\n".join(table))
    return results


if __name__ == "__main__":
    experiment.command_line(main)
