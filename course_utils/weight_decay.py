"""SGD with weight decay on the weights only: the bias is left out of the penalty."""

import torch


def ridge_sgd(net, lr, weight_decay, momentum=0.0):
    """torch.optim.SGD over net's parameters: `weight_decay` on every weight, none on biases.

    Two parameter groups: the parameters whose name ends in "bias" get weight_decay=0.
    """
    decay, no_decay = [], []
    for name, param in net.named_parameters():
        (no_decay if name.endswith("bias") else decay).append(param)
    groups = [{"params": decay, "weight_decay": weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    groups = [group for group in groups if group["params"]]
    return torch.optim.SGD(groups, lr=lr, momentum=momentum)
