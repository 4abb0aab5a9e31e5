# %% [markdown]
# # Chapter 00: autograd, the engine under every GAN
#
# A GAN is two networks trained against each other by gradient descent. Every
# update needs the gradient of a loss with respect to thousands of weights, and
# some GAN losses (WGAN-GP, R1) even need the gradient *of a gradient*. This
# chapter opens the engine that computes them: `minigan.autograd`.
#
# Run it with `python chapters/00_autograd/autograd.py` (add `--quick` for a
# first look). It writes its figure and a summary to `runs/00_autograd/`.

# %%
import numpy as np

import minigan
from minigan import experiment
from minigan.autograd import Function

# %% [markdown]
# ## 1. A tensor remembers how it was made
#
# `y = tanh(w x + b)` builds a small graph: every result Tensor keeps a
# reference to the Function that made it (`y.creator`), and that Function keeps
# its inputs. `backward()` walks this graph from `y` back to the leaves, and at
# each node applies the chain rule: dL/dinput = dL/doutput * doutput/dinput.


# %%
def describe_graph(tensor, indent=0, lines=None):
    """The graph that produced ``tensor``, one node per line, inputs indented."""
    lines = [] if lines is None else lines
    pad = "    " * indent
    if tensor.creator is None:
        kind = "leaf (requires grad)" if tensor.requires_grad else "constant"
        lines.append(f"{pad}{kind} {tensor.shape}")
    else:
        lines.append(f"{pad}{tensor.creator.name()} -> {tensor.shape}")
        for parent in tensor.creator.inputs:
            describe_graph(parent, indent + 1, lines)
    return lines


def one_neuron():
    """y = tanh(w x + b) at x = 2, w = -3, b = 1, and dy/dw from backward vs by hand."""
    x = minigan.tensor(2.0, dtype="float64")
    w = minigan.tensor(-3.0, dtype="float64", requires_grad=True)
    b = minigan.tensor(1.0, dtype="float64", requires_grad=True)
    y = minigan.tanh(w * x + b)
    graph = describe_graph(y)
    y.backward()
    by_hand = (1 - np.tanh(-5.0) ** 2) * 2.0      # dy/dw = tanh'(wx + b) * x
    return graph, w.grad.item(), by_hand


# %% [markdown]
# ## 2. The gradient of a gradient
#
# A Function's backward is written with Tensor operations. With
# `create_graph=True` those operations are recorded too, so the gradient is a
# Tensor in a graph of its own and can be differentiated again:
#
#     (dy,)  = minigan.grad(y, x, create_graph=True)
#     (d2y,) = minigan.grad(dy.sum(), x, create_graph=True)
#
# For tanh, with t = tanh x: t' = 1 - t^2, t'' = -2 t (1 - t^2),
# t''' = -2 (1 - t^2)(1 - 3 t^2). We compare autograd with these closed forms.


# %%
def tanh_derivatives(points):
    """tanh and its first three derivatives at ``points``: by autograd and in closed form."""
    x = minigan.tensor(points, requires_grad=True)
    derivatives, current = [], minigan.tanh(x)
    for _ in range(3):
        (current,) = minigan.grad(current.sum(), x, create_graph=True)
        derivatives.append(current.numpy())
    t = np.tanh(points)
    closed = [1 - t ** 2, -2 * t * (1 - t ** 2), -2 * (1 - t ** 2) * (1 - 3 * t ** 2)]
    return t, derivatives, closed


# %% [markdown]
# ## 3. A gradient penalty, checked by finite differences
#
# WGAN-GP adds lambda (||grad_x D(x)|| - 1)^2 to the critic's loss: the loss
# depends on the critic's input gradient, so training it needs second
# derivatives. `minigan.gradgradcheck` compares them with central differences
# (in float64, where differences of 1e-6 are still precise).


# %%
def penalty_check(seed):
    """gradgradcheck of a small critic's gradient norm, and gradcheck of the penalty."""
    rng = np.random.default_rng(seed)
    weight = minigan.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    readout = minigan.tensor(rng.standard_normal((1, 4)), requires_grad=True)
    x = minigan.tensor(rng.standard_normal((5, 3)), requires_grad=True)

    def critic(x, weight, readout):
        return minigan.nn.functional.leaky_relu(x @ weight.T, 0.2).tanh() @ readout.T

    def penalty(x, weight, readout):
        (gradient,) = minigan.grad(critic(x, weight, readout).sum(), x, create_graph=True)
        norm = ((gradient * gradient).sum(axis=1) + 1e-12).sqrt()
        return ((norm - 1) ** 2).mean()

    return (minigan.gradgradcheck(critic, [x, weight, readout]),
            minigan.gradcheck(penalty, [x, weight, readout]))


# %% [markdown]
# ## 4. gradcheck catches a wrong backward
#
# A Function whose backward has the wrong sign trains in the wrong direction
# without any error. gradcheck is how you find out: it names the input and the
# element that disagree.


# %%
class SquareWithWrongSign(Function):
    """y = x^2 with a planted bug: the backward returns -2 x g instead of 2 x g."""

    def forward(self, xp, x):
        return x * x

    def backward(self, grad, needs_input_grad):
        return grad * (-2 * self.inputs[0])


def catch_planted_bug():
    """Run gradcheck on the buggy Function; return whether it failed and its message."""
    x = minigan.tensor([0.5, -1.0, 2.0], requires_grad=True, dtype="float64")
    try:
        minigan.gradcheck(lambda x: SquareWithWrongSign.apply(x), [x])
    except minigan.GradcheckError as error:
        return True, str(error)
    return False, "gradcheck passed a wrong gradient"


# %% [markdown]
# ## Putting it together


# %%
def plot(points, t, derivatives, closed):
    import matplotlib.pyplot as plt
    figure, axis = plt.subplots(figsize=(7, 4))
    axis.plot(points, t, color="black", label="tanh x")
    for order, (auto, exact) in enumerate(zip(derivatives, closed), start=1):
        line, = axis.plot(points, exact, label=f"order {order}, closed form")
        axis.plot(points[::4], auto[::4], "o", color=line.get_color(), markersize=4,
                  label=f"order {order}, autograd")
    axis.set_xlabel("x")
    axis.set_title("tanh and its derivatives: autograd (dots) on the closed forms (lines)")
    axis.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return figure


def main(argv=None):
    args = experiment.parse_args("00_autograd", argv, steps=201, quick_steps=41,
                                 description="Chapter 00: autograd and higher-order gradients")
    run = experiment.Run("00_autograd", args, title="Chapter 00: autograd")

    graph, dw, by_hand = one_neuron()
    print("The graph of y = tanh(w x + b):\n  " + "\n  ".join(graph))
    print(f"dy/dw by backward: {dw:.10f}   by hand: {by_hand:.10f}")

    points = np.linspace(-3, 3, args.steps)
    t, derivatives, closed = tanh_derivatives(points)
    errors = [float(np.max(np.abs(a - c))) for a, c in zip(derivatives, closed)]
    for order, error in enumerate(errors, start=1):
        run.log(order=order, max_error=error)

    critic_ok, penalty_ok = penalty_check(args.seed)
    caught, message = catch_planted_bug()
    print(f"planted bug: {message}")

    run.savefig(plot(points, t, derivatives, closed), "tanh_derivatives",
                "tanh and its first three derivatives")
    results = {
        "dy/dw, |backward - by hand|": abs(dw - by_hand),
        "max error, 1st derivative of tanh": errors[0],
        "max error, 2nd derivative of tanh": errors[1],
        "max error, 3rd derivative of tanh": errors[2],
        "second-order gradcheck of a critic": critic_ok,
        "gradcheck of its gradient penalty": penalty_ok,
        "planted backward bug caught": caught,
    }
    run.finish(results, notes="The graph of y = tanh(w x + b):\n\n    " + "\n    ".join(graph))
    return results


if __name__ == "__main__":
    experiment.command_line(main)
