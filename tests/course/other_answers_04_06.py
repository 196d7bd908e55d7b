"""Other correct answers for notebooks 04, 05 and 06, for tests/course/test_other_answers.py.

Each answer solves its exercise as the exercise text asks, written independently of the
master's reference solution and in a clearly different style a student might choose: loops
instead of vectorized code, `torch.where` or an indicator instead of `maximum`, a clamp-based
Huber formula, `torch.logaddexp` for Log-Cosh, hand-written momentum descent instead of Adam,
NumPy's generator and solvers, an SVD for ridge, `add_param_group`. The runner puts each
source in place of the master's solution cell with that grade id and grades the notebook:
every graded test cell must accept it. ANSWERS maps assignment id -> {grade id of a solution
cell: source}.
"""

ANSWERS = {
    "04_loss_functions": {
        "absolute_loss": '''\
def absolute_loss(y_hat, y):
    """Absolute (L1) loss |y_hat - y|."""
    r = _residual(y_hat, y)
    # keep r where it is positive, flip its sign where it is negative
    return torch.where(r >= 0, r, -r)
''',
        "huber_loss": '''\
def huber_loss(y_hat, y, delta=1.0):
    """Huber loss: r^2 / 2 for |r| <= delta, delta (|r| - delta / 2) beyond (= nn.HuberLoss)."""
    if not delta > 0:
        raise ValueError("delta has to be > 0")
    size = _residual(y_hat, y).abs()
    capped = size.clamp(max=delta)  # |r| inside, delta outside
    # inside: |r| (|r| - |r| / 2) = r^2 / 2; outside: delta (|r| - delta / 2)
    return capped * (size - capped / 2)
''',
        "log_cosh_loss": '''\
def log_cosh_loss(y_hat, y):
    """log(cosh(y_hat - y)), computed as |r| + softplus(-2|r|) - log 2 so it never overflows."""
    r = _residual(y_hat, y)
    # cosh r = (e^r + e^-r) / 2, and logaddexp adds the exponentials without overflow
    return torch.logaddexp(r, -r) - math.log(2)
''',
        "quantile_loss": '''\
def quantile_loss(y_hat, y, gamma):
    """Quantile (pinball) loss: gamma * u if u >= 0 else (gamma - 1) * u, with u = y - y_hat."""
    if gamma <= 0 or gamma >= 1:
        raise ValueError("gamma must be between 0 and 1")
    u = y.reshape(y_hat.shape) - y_hat
    too_high = (u < 0).to(u.dtype)  # 1 where we predicted more than the target
    return u * (gamma - too_high)
''',
        "best_constant": '''\
def best_constant(y, loss, num_candidates=2001):
    """The constant c (a float) in a grid spanning y that minimises the mean of loss(c, y)."""
    y = y.flatten()
    low, high = y.min().item(), y.max().item()
    best_c, best_value = low, float("inf")
    for k in range(num_candidates):
        c = low + (high - low) * k / (num_candidates - 1)
        value = loss(torch.full_like(y, c), y).mean().item()
        if value < best_value:
            best_c, best_value = c, value
    return best_c
''',
        "fit_line": '''\
def fit_line(x, y, loss, num_epochs=300, lr=0.1):
    """Fit y ~ w x + b by minimising the mean of loss(w x + b, y); return (w, b) as floats."""
    w = torch.tensor(0.0, requires_grad=True)
    b = torch.tensor(0.0, requires_grad=True)
    velocity_w, velocity_b = 0.0, 0.0
    for epoch in range(num_epochs):
        objective = loss(w * x + b, y).mean()
        grad_w, grad_b = torch.autograd.grad(objective, [w, b])
        # heavy-ball momentum, and a step that shrinks to 0 (MAE's gradient never does)
        velocity_w = 0.9 * velocity_w + grad_w
        velocity_b = 0.9 * velocity_b + grad_b
        step = lr * (num_epochs - epoch) / num_epochs
        with torch.no_grad():
            w -= step * velocity_w
            b -= step * velocity_b
    return w.item(), b.item()
''',
        "quantile_interval": '''\
def prediction_interval(x, y, low=0.05, high=0.95):
    """Quantile-regression lines at levels low and high: ((w_low, b_low), (w_high, b_high))."""
    lines = []
    for level in (low, high):
        def pinball(prediction, target, level=level):
            return quantile_loss(prediction, target, level)

        lines.append(fit_line(x, y, pinball))
    return lines[0], lines[1]


def interval_coverage(x, y, lower, upper):
    """Fraction of the points (x, y) lying between the lines `lower` and `upper` (w, b pairs)."""
    w_low, b_low = lower
    w_high, b_high = upper
    inside = 0
    xs, ys = x.flatten().tolist(), y.flatten().tolist()
    for xi, yi in zip(xs, ys):
        if w_low * xi + b_low <= yi <= w_high * xi + b_high:
            inside += 1
    return inside / len(xs)
''',
    },
    "05_mse_gradients": {
        "mse-by-hand": '''\
def mse_by_hand(X, Y, reduction="mean"):
    """Exact nn.MSELoss of two equally shaped matrices (lists of rows), as a Fraction."""
    total = Fraction(0)
    count = 0
    for i in range(len(X)):
        for j in range(len(X[i])):
            diff = Fraction(X[i][j]) - Fraction(Y[i][j])
            total += diff ** 2
            count += 1
    if reduction == "mean":
        return total / count
    elif reduction == "sum":
        return total
    raise ValueError("unknown reduction " + str(reduction))
''',
        "mse-grad-by-hand": '''\
def mse_grad_by_hand(X, Y, reduction="mean"):
    """Exact gradient of nn.MSELoss(X, Y) with respect to X, as rows of Fractions."""
    factor = Fraction(2)
    if reduction == "mean":
        factor = factor / (len(X) * len(X[0]))
    elif reduction != "sum":
        raise ValueError("unknown reduction " + str(reduction))
    grad = []
    for i in range(len(X)):
        row = []
        for j in range(len(X[i])):
            row.append(factor * (Fraction(X[i][j]) - Fraction(Y[i][j])))
        grad.append(row)
    return grad
''',
        "autograd-x-grad": '''\
def autograd_x_grad(X, Y, reduction="mean"):
    """X.grad of nn.MSELoss(reduction=reduction)(X, Y), computed by autograd in float64."""
    X_t = torch.from_numpy(np.array(X, dtype=np.float64)).requires_grad_(True)
    Y_t = torch.from_numpy(np.array(Y, dtype=np.float64))
    loss = nn.MSELoss(reduction=reduction)(X_t, Y_t)
    (grad,) = torch.autograd.grad(loss, X_t)  # a fresh gradient, nothing accumulates
    return grad
''',
        "linear-batch-grads": '''\
def linear_batch_grads(X, y, w, b):
    """Exact loss sum(r^2)/B and its gradients (w_grad, b_grad) for y_hat = Xw + b."""
    B = len(X)
    d = len(w)
    w = [Fraction(v) for v in w]
    b = Fraction(b)
    loss = Fraction(0)
    w_grad = [Fraction(0)] * d
    b_grad = Fraction(0)
    for i in range(B):
        prediction = b
        for j in range(d):
            prediction += Fraction(X[i][j]) * w[j]
        r = prediction - Fraction(y[i])
        loss += r * r / B
        for j in range(d):
            w_grad[j] += 2 * Fraction(X[i][j]) * r / B
        b_grad += 2 * r / B
    return loss, w_grad, b_grad
''',
        "sgd-step-exact": '''\
def sgd_step_exact(w, b, w_grad, b_grad, lr):
    """One exact SGD step: w - lr * w_grad, b - lr * b_grad."""
    eta = Fraction(lr)
    w_new = []
    for j in range(len(w)):
        w_new.append(Fraction(w[j]) - eta * Fraction(w_grad[j]))
    b_new = Fraction(b) - eta * Fraction(b_grad)
    return w_new, b_new
''',
        "sgd-epoch-exact": '''\
def sgd_epoch_exact(features, labels, w, b, lr, batch_size, order):
    """Exact mini-batch SGD over one epoch; returns [(w, b)] after each step."""
    indices = list(order)
    batches = []
    while indices:
        batches.append(indices[:batch_size])
        indices = indices[batch_size:]
    history = []
    for batch in batches:
        X_batch = [features[i] for i in batch]
        y_batch = [labels[i] for i in batch]
        _, gw, gb = linear_batch_grads(X_batch, y_batch, w, b)
        w, b = sgd_step_exact(w, b, gw, gb, lr)
        history.append((w, b))
    return history
''',
        "hessian-exact": '''\
def hessian_exact(X):
    """Exact Hessian 2/B A^T A (A = [X 1]) of the batch loss sum(r^2)/B over (w, b)."""
    B = len(X)
    size = len(X[0]) + 1
    H = [[Fraction(0) for _ in range(size)] for _ in range(size)]
    for row in X:
        a = [Fraction(v) for v in row] + [Fraction(1)]
        for j in range(size):
            for k in range(j, size):  # upper triangle, then mirror
                H[j][k] += Fraction(2, B) * a[j] * a[k]
    for j in range(size):
        for k in range(j):
            H[j][k] = H[k][j]
    return H
''',
        "epoch-matrix": '''\
def epoch_matrix(lr):
    """The exact matrix M = (I - lr H2)(I - lr H1) of one epoch in the fixed order."""
    eta = Fraction(lr)
    H1 = hessian_exact([SIX_FEATURES[i] for i in SIX_BATCH_ORDER[:3]])
    H2 = hessian_exact([SIX_FEATURES[i] for i in SIX_BATCH_ORDER[3:]])
    n = len(H1)
    # expanded: I - lr (H1 + H2) + lr^2 H2 H1
    M = []
    for j in range(n):
        row = []
        for k in range(n):
            product = sum(H2[j][m] * H1[m][k] for m in range(n))
            identity = Fraction(1) if j == k else Fraction(0)
            row.append(identity - eta * (H1[j][k] + H2[j][k]) + eta * eta * product)
        M.append(row)
    return M
''',
    },
    "06_real_data": {
        "train_val_test_split": '''\
def train_val_test_split(X, y, fractions=(0.6, 0.2, 0.2), seed=0):
    """Shuffle the rows of (X, y) with `seed` and cut them into train, validation and test."""
    n = X.shape[0]
    rng = np.random.default_rng(seed)
    shuffled = torch.as_tensor(rng.permutation(n))
    n_train = int(fractions[0] * n)
    n_val = int(fractions[1] * n)
    train_rows = shuffled[:n_train]
    val_rows = shuffled[n_train:n_train + n_val]
    test_rows = shuffled[n_train + n_val:]
    return ((X[train_rows], y[train_rows]), (X[val_rows], y[val_rows]),
            (X[test_rows], y[test_rows]))
''',
        "standardize": '''\
def standardize_splits(X_train, *others):
    """(X - mean) / std per column, with the mean and std (1/n) of X_train for every set."""
    variance, mean = torch.var_mean(X_train, dim=0, correction=0)
    std = variance.sqrt()
    results = []
    for X in [X_train, *others]:
        results.append((X - mean) / std)
    return tuple(results)
''',
        "fit_least_squares": '''\
def fit_least_squares(X, y):
    """Least squares y ~ X w + b: returns w (shape (d,)) and b, in float64.

    Solves the normal equations A^T A theta = A^T y with A = [X 1], in NumPy.
    """
    X_np = np.asarray(X, dtype=np.float64)
    y_np = np.asarray(y, dtype=np.float64).ravel()
    A = np.hstack([X_np, np.ones((X_np.shape[0], 1))])
    theta = np.linalg.solve(A.T @ A, A.T @ y_np)
    return torch.from_numpy(theta[:-1].copy()), float(theta[-1])
''',
        "ridge_closed_form": '''\
def ridge_closed_form(X, y, alpha):
    """Ridge regression: minimizes ||y - X w - b||^2 + alpha ||w||^2 (b is not penalized).

    With the centred X = U S V^T: w = V diag(s / (s^2 + alpha)) U^T (y - mean y).
    """
    X = torch.as_tensor(X).double()
    y = torch.as_tensor(y).double().reshape(-1)
    x_bar = X.mean(dim=0)
    y_bar = y.mean()
    U, s, Vh = torch.linalg.svd(X - x_bar, full_matrices=False)
    shrink = s / (s ** 2 + alpha)
    w = Vh.T @ (shrink * (U.T @ (y - y_bar)))
    b = y_bar - torch.dot(x_bar, w)
    return w, b
''',
        "ridge_sgd": '''\
def ridge_sgd(net, lr, weight_decay, momentum=0.0):
    """torch.optim.SGD over net's parameters: `weight_decay` on every weight, none on biases."""
    weights = [p for name, p in net.named_parameters() if not name.endswith("bias")]
    biases = [p for name, p in net.named_parameters() if name.endswith("bias")]
    optimizer = torch.optim.SGD(weights, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if biases:
        optimizer.add_param_group({"params": biases, "weight_decay": 0.0})
    return optimizer
''',
        "coverage": '''\
def coverage(y, lower, upper):
    """Fraction (a float) of the targets y with lower <= y <= upper, element by element."""
    y_np = np.asarray(y).ravel()
    inside = (np.asarray(lower).ravel() <= y_np) & (y_np <= np.asarray(upper).ravel())
    return float(np.count_nonzero(inside)) / y_np.size
''',
    },
}
