"""Chapter 08 exercises: the information bound, the Gaussian code's loss, and scoring an
unsupervised code against labels.

Replace each ``raise NotImplementedError`` with your code (NumPy arrays in, numbers out;
leave the arrays passed in as they are), then check it with

    pytest --solutions=mine -m ch08
"""


def mutual_information_lower_bound(q_probabilities, codes):
    """Exercise 8.1. The variational lower bound on I(c; x) of equation (1), for a
    categorical code c uniform over K values:

        I(c; x) >= H(c) + E[log Q(c | x)] = log K + mean_n log q_probabilities[n, codes[n]]

    in nats (natural logarithms). ``q_probabilities`` (N, K) are Q's softmax outputs on the
    images G made from ``codes`` (N,). H(c) is log K because c is drawn uniformly, even when
    a batch happens to miss some codes. The bound is log K when Q is certain and right,
    log K - log K = 0 when Q guesses uniformly, and negative when Q is sure and wrong."""
    raise NotImplementedError("Exercise 8.1: mutual_information_lower_bound")


def gaussian_code_nll(means, codes):
    """Exercise 8.2. The mean over examples of -log N(codes[n]; means[n], I) (natural log), the
    negative log-likelihood of continuous codes (N, D) under Q's Gaussian of unit variance:

        1/2 ||codes[n] - means[n]||^2 + D/2 log(2 pi)

    (the chapter drops the constant, which has no gradient)."""
    raise NotImplementedError("Exercise 8.2: gaussian_code_nll")


def best_matching_accuracy(codes, labels, num_classes):
    """Exercise 8.3. The clustering accuracy of integer ``codes`` (N,) against true
    ``labels`` (N,), both in 0..num_classes-1: the largest share of agreement over all
    one-to-one maps m from codes to classes, max_m mean(m(codes) == labels). (Build the
    table counts[code, label] and find the best assignment; scipy.optimize has it.)"""
    raise NotImplementedError("Exercise 8.3: best_matching_accuracy")
