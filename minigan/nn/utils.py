"""Spectral normalisation (Miyato et al. 2018): a layer whose weight is divided by its largest
singular value, so that the layer is 1-Lipschitz.

A linear map x -> W x changes distances by at most its spectral norm
sigma(W) = max_{v != 0} ||W v|| / ||v||, the largest singular value of W. Dividing
the weight by it,

    W_SN = W / sigma(W),

gives a layer with Lipschitz constant 1; a network of such layers and 1-Lipschitz
activations (ReLU, leaky ReLU) is then 1-Lipschitz too, which is the constraint a
Wasserstein critic needs, and it keeps any discriminator's gradients tame.

**Power iteration.** An SVD per step would be slow; one step of the power method per
training forward is enough, because W changes little between steps. With u a unit
vector kept from the previous step,

    v <- W^T u / ||W^T u||,    u <- W v / ||W v||,    sigma ~= u^T W v,

and u, v converge to the top singular vectors, sigma to sigma(W) from below. u and v
are buffers: saved in the state_dict, never trained; evaluation mode reads them
without updating, so an evaluated network is a fixed function.

**The gradient.** u and v are treated as constants, as in Miyato et al. and PyTorch:
sigma = u^T W v is then linear in W, with d sigma / dW = u v^T, and

    d<G, W/sigma>/dW = G / sigma - (<G, W> / sigma^2) u v^T,

which autograd finds by itself from the composition W / (u^T W v). Being a
composition it is differentiable to any order, so a spectrally normalised critic
also works inside a gradient penalty.

**Convolutions.** A conv weight is reshaped to a matrix with one row per output
channel: Conv2d's (out, in, kh, kw) becomes (out, in kh kw). ConvTranspose2d stores
its weight as (in, out, kh, kw), so its axes 0 and 1 are swapped first (``dim=1``,
PyTorch's choice for transposed convolutions). The matrix's spectral norm is the one
Miyato et al. use; it is not the Lipschitz constant of the convolution as an operator
on images, only a cheap stand-in for it (the two differ by a factor that depends on
the kernel size and the stride).
"""
import numpy

from minigan import backend
from minigan.autograd import Tensor, enable_grad, grad
from minigan.creation import zeros
from minigan.nn.layers import ConvTranspose2d
from minigan.nn.module import Module
from minigan.ops import matmul, reshape, transpose


def _normalize(vector, eps):
    """vector / max(||vector||, eps), as PyTorch's F.normalize: eps guards a zero vector."""
    xp = backend.array_module(vector)
    return vector / xp.maximum(xp.sqrt((vector * vector).sum()), eps)


def weight_matrix(weight, dim=0):
    """The weight as a matrix with axis ``dim`` as its rows and all other axes flattened.

    (out, in) stays as it is; (out, in, kh, kw) with dim=0 becomes (out, in kh kw);
    (in, out, kh, kw) with dim=1 becomes (out, in kh kw). Works on Tensors
    (differentiably) and on arrays.
    """
    if dim != 0:
        axes = [dim] + [a for a in range(weight.ndim) if a != dim]
        weight = transpose(weight, axes) if isinstance(weight, Tensor) else weight.transpose(axes)
    rows = weight.shape[0]
    return reshape(weight, (rows, -1)) if isinstance(weight, Tensor) else weight.reshape(rows, -1)


def power_iteration(matrix, u, v, n_iterations, eps=1e-12):
    """Run ``n_iterations`` steps of the power method on an array ``matrix``, in place:

        v <- W^T u / ||W^T u||,   u <- W v / ||W v||

    ``u`` (rows,) and ``v`` (columns,) are arrays, overwritten; no graph is recorded.
    """
    for _ in range(n_iterations):
        v[...] = _normalize(matrix.T @ u, eps)
        u[...] = _normalize(matrix @ v, eps)


def spectrally_normalized(weight, u, v, dim=0):
    """W / sigma with sigma = u^T W_mat v, u and v constants (see the module docstring).

    Args:
        weight: the weight Tensor, any shape (a Linear's (out, in), a conv's 4-D weight).
        u, v: Tensors (or arrays) of shapes (rows,) and (columns,) of ``weight_matrix``;
            treated as constants.
        dim: the axis of ``weight`` that holds the output features.

    Returns the normalised weight, of the weight's shape, differentiable to any order.
    """
    u = Tensor(u.data if isinstance(u, Tensor) else u)
    v = Tensor(v.data if isinstance(v, Tensor) else v)
    sigma = matmul(u, matmul(weight_matrix(weight, dim), v))
    return weight / sigma


class SpectralNorm(Module):
    """``module`` run with its weight divided by the weight's spectral norm.

    The wrapped module keeps its own Parameter (``module.weight``, trained as usual);
    this wrapper owns the power iteration's vectors as buffers ``weight_u`` and
    ``weight_v`` (named after ``name``), and on every call runs the module with
    W / sigma(W) in the weight's place. In training mode each call first takes
    ``n_power_iterations`` steps of the power method; in evaluation mode u and v
    stay as they are.

    Make one with :func:`spectral_norm`.
    """

    def __init__(self, module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
        super().__init__()
        weight = vars(module).get(name)
        if not isinstance(weight, Tensor):
            raise ValueError(f"spectral_norm: {type(module).__name__} has no weight {name!r}")
        if (isinstance(n_power_iterations, bool) or not isinstance(n_power_iterations, int)
                or n_power_iterations < 1):
            raise ValueError(f"spectral_norm: n_power_iterations must be an int >= 1, got "
                             f"{n_power_iterations!r}")
        if not (isinstance(eps, (int, float)) and eps > 0):
            raise ValueError(f"spectral_norm: eps must be a number > 0, got {eps!r}")
        if dim is None:
            dim = 1 if isinstance(module, ConvTranspose2d) else 0
        if not (isinstance(dim, int) and 0 <= dim < weight.ndim):
            raise ValueError(f"spectral_norm: dim must be an axis of the weight, "
                             f"0..{weight.ndim - 1} (weight shape {weight.shape}), got {dim!r}")
        self.module, self.name = module, name
        self.n_power_iterations, self.eps, self.dim = n_power_iterations, eps, dim
        matrix = weight_matrix(weight.data, dim)
        u = backend.rng().standard_normal(matrix.shape[0], dtype=weight.dtype)
        u = _normalize(u, eps)
        v = backend.array_module(u).empty(matrix.shape[1], dtype=weight.dtype)
        # One step now, so that u^T W v = ||W v|| > 0 even for a module that is only
        # ever evaluated: with a random pair the estimate could be near 0, or negative.
        power_iteration(matrix, u, v, 1, eps)
        self.register_buffer(name + "_u", Tensor(u))
        self.register_buffer(name + "_v", Tensor(v))

    def _vectors(self):
        """The buffers u and v."""
        return getattr(self, self.name + "_u"), getattr(self, self.name + "_v")

    def normalized_weight(self):
        """W / sigma(W) for the current u and v (no power iteration)."""
        return spectrally_normalized(getattr(self.module, self.name), *self._vectors(), self.dim)

    def sigma(self):
        """The current estimate u^T W_mat v of the weight's largest singular value, a number."""
        u, v = (vector.data for vector in self._vectors())
        matrix = weight_matrix(getattr(self.module, self.name).data, self.dim)
        return float(backend.to_numpy(u @ (matrix @ v)))

    def forward(self, *args):
        weight = getattr(self.module, self.name)
        u, v = self._vectors()
        if self.training:
            power_iteration(weight_matrix(weight.data, self.dim), u.data, v.data,
                            self.n_power_iterations, self.eps)
        # Copies: this call's graph must keep this call's u and v, even when a later
        # training call (the gradient penalty's, say) updates the buffers before backward.
        normalized = spectrally_normalized(weight, u.data.copy(), v.data.copy(), self.dim)
        try:
            setattr(self.module, self.name, normalized)
            return self.module(*args)
        finally:
            setattr(self.module, self.name, weight)

    def extra_repr(self):
        return f"name={self.name!r}, n_power_iterations={self.n_power_iterations}, dim={self.dim}"


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Spectrally normalise ``module``'s weight: the module, run with W / sigma(W).

    Args:
        module: a layer with a weight: ``Linear``, ``Conv2d``, ``ConvTranspose2d``...
        name: the weight's attribute name.
        n_power_iterations: power-method steps per training call (1, as in the paper).
        eps: guards the normalisation of a zero vector.
        dim: the axis of the weight holding the output features; by default 1 for
            ``ConvTranspose2d`` (its weight is (in, out, kh, kw)) and 0 otherwise.

    Returns a :class:`SpectralNorm` wrapping ``module``. Its parameters are the
    module's own (the raw weight ``module.weight`` and the bias); its state_dict adds
    the buffers ``weight_u`` and ``weight_v``. Unlike PyTorch, which renames the
    parameter to ``weight_orig`` inside the module, the module is left unchanged.

    >>> critic = nn.Sequential(spectral_norm(nn.Linear(2, 64)), nn.LeakyReLU(0.2),
    ...                        spectral_norm(nn.Linear(64, 1)))
    >>> [name for name, _ in critic.named_parameters()]
    ['0.module.weight', '0.module.bias', '2.module.weight', '2.module.bias']
    """
    return SpectralNorm(module, name, n_power_iterations, eps, dim)


def operator_norm(layer, input_shape, iterations=200, seed=0):
    """The Lipschitz constant of a linear layer as a map of whole inputs of ``input_shape``:

        ||A|| = max_{v != 0} ||A v|| / ||v||,      A v = layer(v) - layer(0)

    (the bias removed), by the power method on A^T A: v <- A^T A v / ||A^T A v||, and
    A^T A v is the gradient of ||A v||^2 / 2 in v, so autograd supplies the adjoint of
    any linear layer. For a Linear layer this is sigma(W). For a convolution on images it
    is the number that bounds how much the layer stretches distances, which sigma of the
    reshaped (out, in kh kw) weight, what spectral normalisation divides by, does not:
    each input pixel is copied into at most ceil(kh / s) ceil(kw / s) receptive fields,
    so only

        sigma(W reshaped) <~ ||A|| <= sqrt(ceil(kh / s) ceil(kw / s)) sigma(W reshaped)

    holds (2 for a 4x4 kernel at stride 2). ``input_shape`` is one input's shape,
    (C, H, W) or (features,). The layer runs in evaluation mode (a spectrally normalised
    layer then keeps its u and v), and is put back in the mode it was in.
    """
    shape = (1,) + tuple(input_shape)
    xp = backend.get_array_module()
    v = backend.asarray(numpy.random.default_rng(seed).standard_normal(shape))   # float64
    was_training = layer.training
    layer.eval()
    try:
        dtype = next(iter(layer.parameters())).dtype
        offset = layer(zeros(shape, dtype=dtype)).detach()
        with enable_grad():
            for _ in range(iterations):
                v = _normalize(v, 1e-30)
                x = Tensor(v.astype(dtype), requires_grad=True)
                stretched = layer(x) - offset
                (v,) = grad((stretched * stretched).sum() * 0.5, x)
                v = v.data.astype("float64")
            x = Tensor(_normalize(v, 1e-30).astype(dtype))
            stretched = (layer(x) - offset).data
    finally:
        layer.train(was_training)
    return float(backend.to_numpy(xp.sqrt((stretched.astype("float64") ** 2).sum())))
