"""Chapter 15 exercises: the smoothed optimal discriminator, the minibatch standard deviation,
feature matching and the historical average.

Replace each ``raise NotImplementedError`` with your code, then check it with

    pytest --solutions=mine -m ch15

NumPy arrays in, NumPy arrays (or floats) out, in the inputs' precision (float64 in,
float64 out). Leave the arrays passed in as they are.
"""


def smoothed_optimal_discriminator(p_data, p_g, real_label, fake_label):
    """Exercise 15.1. The best D when real examples are labelled alpha = ``real_label`` and
    fakes beta = ``fake_label``: D*(x) = (alpha p_data + beta p_g) / (p_data + p_g), from the
    two densities' values at the same points (arrays of one shape). Where both densities are
    0, return (alpha + beta) / 2."""
    raise NotImplementedError("Exercise 15.1: smoothed_optimal_discriminator")


def minibatch_stddev(x, eps=1e-8):
    """Exercise 15.2. Karras et al.'s minibatch standard deviation for a batch of images
    x (N, C, H, W): the standard deviation of every feature (c, h, w) over the N examples of
    the batch, sqrt(Var + eps) with the *biased* variance (divide by N, not N - 1, as the
    paper's layer does, so a batch of one gives sqrt(eps)), averaged over all features into
    one number s. Return x with one more channel that holds s everywhere: (N, C + 1, H, W)."""
    raise NotImplementedError("Exercise 15.2: minibatch_stddev")


def feature_matching_loss(real_features, fake_features):
    """Exercise 15.3. Salimans et al.'s feature matching: the squared Euclidean distance
    between the mean feature vector of the real batch (N, F) and that of the generated batch
    (M, F), || mean_i f(x_i) - mean_j f(G(z_j)) ||^2. N and M may differ. Return a float."""
    raise NotImplementedError("Exercise 15.3: feature_matching_loss")


def historical_averages(parameters):
    """Exercise 15.4. Historical averaging keeps the mean of a player's past parameters.
    ``parameters`` is a list of T arrays of one shape, theta[1], ..., theta[T], the
    parameters after each update. Return a list of T arrays: the running means
    (1/t) sum_{i <= t} theta[i] for t = 1..T, and the penalty's values
    ||theta[t] - mean_t||^2 as a second list of T floats: return (means, penalties)."""
    raise NotImplementedError("Exercise 15.4: historical_averages")
