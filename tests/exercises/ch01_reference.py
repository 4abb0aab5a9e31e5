"""minigan's answers to chapter 01's exercises, computed by its own kernels and optimizer."""
import numpy as np

import minigan
import minigan.nn.functional as F
from minigan import backend, optim
from minigan.ops import conv_reference


def _tensor(array, requires_grad=False):
    return minigan.tensor(np.asarray(array, dtype=np.float64), requires_grad=requires_grad)


def im2col(x, kernel, stride, padding):
    c = x.shape[1]
    cols = conv_reference.im2col(np, np.asarray(x), (kernel, kernel), (stride, stride),
                                 (padding, padding))       # (C, k, k, N, Ho, Wo)
    return cols.reshape(c * kernel * kernel, -1)


def conv_transpose2d(y, weight, stride, padding):
    return F.conv_transpose2d(_tensor(y), _tensor(weight), stride=stride, padding=padding).numpy()


def batch_norm_statistics(x, eps=1e-5):
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    x_t = _tensor(x)
    x_hat = F.batch_norm(x_t, None, None, training=True, eps=eps)
    return (minigan.mean(x_t, axes).numpy(), minigan.var(x_t, axes, correction=0).numpy(),
            x_hat.numpy())


def adam_step(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    p = _tensor(param, requires_grad=True)
    opt = optim.Adam([p], lr=lr, betas=betas, eps=eps)
    # resume from step t - 1 with the moments given, through the optimizer's own state format
    opt.load_state_dict({"state": {0: {"step": t - 1, "exp_avg": np.asarray(m),
                                       "exp_avg_sq": np.asarray(v)}},
                         "param_groups": [{"lr": lr, "betas": tuple(betas), "eps": eps,
                                           "weight_decay": 0.0, "params": [0]}]})
    p.grad = _tensor(grad)
    opt.step()
    state = opt.state[p]
    return p.numpy(), backend.to_numpy(state["exp_avg"]), backend.to_numpy(state["exp_avg_sq"])
