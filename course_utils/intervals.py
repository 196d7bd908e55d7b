"""How often a prediction interval contains the truth."""


def coverage(y, lower, upper):
    """Fraction (a float) of the targets y with lower <= y <= upper, element by element."""
    y, lower, upper = y.reshape(-1), lower.reshape(-1), upper.reshape(-1)
    return ((lower <= y) & (y <= upper)).double().mean().item()
