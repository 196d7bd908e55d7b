import torch
from torch import nn

from course_utils import ridge_sgd


def test_groups_decay_weights_only():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    trainer = ridge_sgd(net, lr=0.1, weight_decay=0.5, momentum=0.9)
    by_id = {id(p): group["weight_decay"] for group in trainer.param_groups
             for p in group["params"]}
    for name, param in net.named_parameters():
        assert by_id[id(param)] == (0.0 if name.endswith("bias") else 0.5), name
    assert all(group["momentum"] == 0.9 and group["lr"] == 0.1 for group in trainer.param_groups)


def test_a_bias_free_net_gets_one_group():
    trainer = ridge_sgd(nn.Linear(2, 1, bias=False), lr=0.1, weight_decay=0.1)
    assert len(trainer.param_groups) == 1


def test_zero_gradient_step_shrinks_weights_only():
    net = nn.Linear(2, 1)
    with torch.no_grad():
        net.weight.fill_(2.0)
        net.bias.fill_(3.0)
    trainer = ridge_sgd(net, lr=0.1, weight_decay=0.5)
    for p in net.parameters():
        p.grad = torch.zeros_like(p)
    trainer.step()
    assert torch.allclose(net.weight, torch.full((1, 2), 2.0 * (1 - 0.1 * 0.5)))
    assert net.bias.item() == 3.0
