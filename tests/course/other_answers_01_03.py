"""Correct answers to notebooks 01-03 written differently from the masters' solutions."""

# {assignment id: {grade_id of a solution cell: the whole cell as a student would hand it in}}.
# Each answer follows its exercise's text but takes another road than the master: loops where
# the master vectorizes, another torch API, another numerical method. test_other_answers.py
# grades the masters with these cells swapped in.
ANSWERS = {
    "01_vectorization": {
        "predict_batch": '''\
def predict_batch(X, w, b):
    """Return the predictions X w + b for every row of X, shape (batch, 1)."""
    # Scale each column by its weight (broadcasting w as a row), then add up each row.
    weighted = X * w.reshape(1, -1)
    return weighted.sum(dim=1, keepdim=True) + b
''',
        "standardize": '''\
def standardize(X):
    """Return (X - column means) / column standard deviations, same shape as X."""
    n = X.shape[0]
    mean = X.sum(dim=0, keepdim=True) / n
    centered = X - mean
    # The sample standard deviation, dividing by n - 1.
    std = torch.sqrt((centered * centered).sum(dim=0, keepdim=True) / (n - 1))
    return centered / std
''',
        "mse_vectorized": '''\
def mse_vectorized(y_hat, y):
    """Mean squared error of two same-shape tensors, without a Python loop."""
    difference = y_hat - y
    return float(torch.dot(difference, difference)) / difference.numel()
''',
        "speedup_measurement": '''\
speedup = None  # replace by: best loop time / best vectorized time, at n = 10^4
predictions = torch.rand(10**4) * 10
targets = torch.rand(10**4) * 10
timings = {}
for name, function, calls in [("loop", mse_loop, 1), ("vectorized", mse_vectorized, 20)]:
    timings[name] = best_time(lambda f=function: f(predictions, targets), repeat=4, number=calls)
    print(f"{name:>10}: {timings[name] * 1e6:10.1f} us per call")
speedup = timings["loop"] / timings["vectorized"]
print("speedup:", round(speedup))
''',
        "grid_losses": '''\
def grid_losses(x, y, w_values, b_values):
    """Mean squared error of w x + b for every (b, w) on the grid: shape (len(b), len(w))."""
    # The square expanded, mean((y_hat - y)^2) = mean(y_hat^2) + mean(y^2) - 2 mean(y_hat y),
    # from five means over the examples: no (m, k, n) tensor.
    w = w_values.reshape(1, -1)  # slopes along the columns
    b = b_values.reshape(-1, 1)  # intercepts along the rows
    mean_x, mean_y = x.mean(), y.mean()
    mean_y_hat_squared = w**2 * (x * x).mean() + 2 * w * b * mean_x + b**2
    mean_y_hat_y = w * (x * y).mean() + b * mean_y
    return mean_y_hat_squared + (y * y).mean() - 2 * mean_y_hat_y
''',
    },
    "02_linreg_scratch": {
        "synthetic_data": '''\
def synthetic_data(w, b, num_examples, *, noise_std=0.01):
    """Generate y = Xw + b + noise, with X ~ N(0, 1) and noise ~ N(0, noise_std^2) (d2l)."""
    weights = w.float().reshape(-1, 1)
    X = torch.randn(num_examples, weights.shape[0])
    noise = noise_std * torch.randn(num_examples, 1)
    y = X.mm(weights) + b + noise
    return X, y
''',
        "data_iter": '''\
def data_iter(batch_size, features, labels):
    """Yield shuffled mini-batches that cover every example once; the last may be short."""
    order = torch.randperm(features.shape[0])
    for chunk in torch.split(order, batch_size):
        yield features.index_select(0, chunk), labels.index_select(0, chunk)
''',
        "linreg": '''\
def linreg(X, w, b):
    """The linear regression model y_hat = Xw + b (d2l)."""
    return torch.addmm(b, X, w)
''',
        "squared_loss": '''\
import torch.nn.functional as F


def squared_loss(y_hat, y):
    """Squared loss, halved: (y_hat - y)^2 / 2 per element (d2l)."""
    return 0.5 * F.mse_loss(y_hat, y.reshape_as(y_hat), reduction="none")
''',
        "sgd": '''\
@torch.no_grad()
def sgd(params, lr, batch_size):
    """Minibatch stochastic gradient descent (d2l): step, then zero the gradients."""
    for p in params:
        p.add_(p.grad, alpha=-lr / batch_size)
        p.grad = None  # the next backward() starts a fresh gradient
''',
        "normal_equation": '''\
def normal_equation(X, y):
    """Least-squares (w, b) from the normal equation [X 1]^T [X 1] theta = [X 1]^T y, float64."""
    X = X.to(torch.float64)
    y = y.to(torch.float64).reshape(-1, 1)
    n, d = X.shape
    # [X 1]^T [X 1] block by block, without building [X 1].
    column_sums = X.sum(dim=0, keepdim=True)  # (1, d)
    gram = torch.empty(d + 1, d + 1, dtype=torch.float64)
    gram[:d, :d] = X.T @ X
    gram[:d, d:] = column_sums.T
    gram[d:, :d] = column_sums
    gram[d, d] = n
    rhs = torch.cat([X.T @ y, y.sum().reshape(1, 1)])
    # The matrix is symmetric positive definite: a Cholesky factorization solves it.
    theta = torch.cholesky_solve(rhs, torch.linalg.cholesky(gram))
    return theta[:d], theta[d:, 0]
''',
        "grad_by_hand": '''\
def grad_by_hand(X, y, w, b):
    """Gradients (dL/dw, dL/db) of L = sum((Xw + b - y)^2) / 2, without autograd."""
    y = y.reshape(-1)
    dw = torch.zeros_like(w)
    db = torch.zeros_like(b)
    # One example at a time: its residual times its features.
    for i in range(X.shape[0]):
        residual = X[i] @ w[:, 0] + b - y[i]  # shape (1,)
        dw += X[i].reshape(-1, 1) * residual
        db += residual
    return dw, db
''',
        "largest_stable_lr": '''\
def largest_stable_lr(X, reduction="mean"):
    """2 / lambda_max of the Hessian of the halved squared loss of y_hat = Xw + b."""
    if reduction not in ("mean", "sum"):
        raise ValueError(f"unknown reduction {reduction!r}")
    X = X.double().reshape(X.shape[0], -1)
    X_tilde = torch.hstack([X, torch.ones(X.shape[0], 1, dtype=torch.float64)])
    # lambda_max of X~^T X~ is the square of the largest singular value of X~.
    lam_max = torch.linalg.svdvals(X_tilde)[0].item() ** 2
    if reduction == "mean":
        lam_max /= X.shape[0]
    return 2.0 / lam_max
''',
        "newton_step": '''\
def newton_step(X, y, w, b):
    """One Newton step on the mean halved squared loss of y_hat = Xw + b (optional)."""
    X = X.double().reshape(X.shape[0], -1)
    y = y.double().reshape(-1, 1)
    d = X.shape[1]

    def loss_of(theta):
        residual = X @ theta[:d].reshape(-1, 1) + theta[d] - y
        return (residual**2).mean() / 2

    theta = torch.cat([w.double().reshape(-1), b.double().reshape(-1)])
    # Gradient and Hessian from autograd instead of formulas.
    gradient = torch.autograd.functional.jacobian(loss_of, theta)
    hessian = torch.autograd.functional.hessian(loss_of, theta)
    theta = theta - torch.linalg.solve(hessian, gradient)
    return theta[:d].reshape(-1, 1), theta[d:]
''',
    },
    "03_linreg_concise": {
        "load_array": '''\
def load_array(data_arrays, batch_size, is_train=True):
    """Construct a PyTorch data iterator (d2l): shuffled when `is_train`."""
    dataset = data.TensorDataset(*data_arrays)
    if is_train:
        sampler = data.RandomSampler(dataset)
    else:
        sampler = data.SequentialSampler(dataset)
    return data.DataLoader(dataset, batch_size=batch_size, sampler=sampler)
''',
        "init_linear": '''\
def init_linear(layer, std=0.01):
    """Initialise an nn.Linear in place: weight ~ N(0, std^2), bias = 0."""
    with torch.no_grad():
        layer.weight.copy_(std * torch.randn_like(layer.weight))
        layer.bias.zero_()
''',
        "linear_regression_module": '''\
class LinearRegression(nn.Module):
    """A linear model as a custom nn.Module: one nn.Linear layer (lecture 001)."""

    def __init__(self, in_features=1, out_features=1):
        super(LinearRegression, self).__init__()
        self.linear = nn.Linear(in_features=in_features, out_features=out_features)

    def forward(self, x):
        # The layer's affine map written out: x W^T + b.
        return x @ self.linear.weight.T + self.linear.bias
''',
        "train_concise": '''\
import statistics


def train_concise(net, loss, trainer, data_iter, num_epochs):
    """Train `net` with `trainer`; return the mean mini-batch loss of each epoch."""
    epoch_means = []
    for epoch in range(num_epochs):
        batch_losses = []
        for features_batch, labels_batch in data_iter:
            trainer.zero_grad()
            value = loss(net(features_batch), labels_batch)
            value.backward()
            trainer.step()
            batch_losses.append(value.item())
        epoch_means.append(statistics.fmean(batch_losses))
    return epoch_means
''',
        "toy_prediction": '''\
def toy_prediction(net, num_epochs=1000, lr=0.01):
    """Train `net` on the lecture's toy data (summed MSE, SGD); return its prediction at x = 4."""
    x, y = lecture_toy()
    criterion = nn.MSELoss(reduction="sum")
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)

    def closure():
        optimizer.zero_grad()
        value = criterion(net(x), y)
        value.backward()
        return value

    for _ in range(num_epochs):
        optimizer.step(closure)
    with torch.inference_mode():
        return float(net(torch.full((1, 1), 4.0)).squeeze())
''',
        "momentum_sgd": '''\
class MomentumSGD:
    """SGD with momentum: v <- momentum * v + grad, then param <- param - lr * v."""

    def __init__(self, params, lr, momentum=0.9):
        self.param_list = [p for p in params]
        self.lr = lr
        self.mu = momentum
        self.state = {}  # parameter -> its velocity, made at its first step

    def step(self):
        for p in self.param_list:
            if p.grad is None:
                continue
            velocity = self.state.get(p, torch.zeros_like(p.data))
            velocity = self.mu * velocity + p.grad.data
            self.state[p] = velocity
            p.data.sub_(self.lr * velocity)

    def zero_grad(self):
        for p in self.param_list:
            if p.grad is not None:
                p.grad.detach_()
                p.grad.zero_()
''',
    },
}
