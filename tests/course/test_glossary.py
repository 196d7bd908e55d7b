"""One Chinese term per concept across the notebooks (issue 12), from course_utils.glossary."""

from pathlib import Path

import pytest

from course_utils.glossary import (
    GLOSSARY,
    KEY_TERMS,
    cell_term_problems,
    first_use_problems,
    glossary_problems,
)

ROOT = Path(__file__).resolve().parents[2]
MASTERS = sorted((ROOT / "autograding" / "source").glob("*/*.ipynb"))


def test_the_spec_terms_are_in_the_glossary():
    spec = {"bias": "偏置", "weight": "权重", "loss function": "损失函数",
            "learning rate": "学习率",
            "mini-batch": "小批量", "gradient descent": "梯度下降", "overfitting": "过拟合",
            "weight decay": "权重衰减", "likelihood": "似然", "training set": "训练集",
            "validation set": "验证集", "test set": "测试集"}
    assert {term: GLOSSARY[term] for term in spec} == spec
    assert set(KEY_TERMS) == set(spec)
    assert [t for t, zh in GLOSSARY.items() if zh == "偏差"] == ["statistical bias"]


def test_every_assignment_has_a_master():
    ids = {p.parent.name for p in MASTERS}
    assert {"01_vectorization", "04_loss_functions"} <= ids, ids


@pytest.mark.parametrize("master", MASTERS, ids=lambda p: p.parent.name)
def test_master_uses_the_glossary(master):
    problems = glossary_problems(master)
    assert not problems, "\n".join(problems)


# --- the checker itself ------------------------------------------------------------------

def _messages(text):
    return [message for _, message in cell_term_problems(text)]


def test_bias_is_pianzhi_and_pianzha_is_statistical_bias_only():
    assert not _messages("a weight (权重) and a **bias (偏置)** $b$")
    assert _messages("and a bias (偏差) $b$")  # both rules fire
    assert not _messages("the statistical bias (偏差) of an estimator")
    assert not _messages("Adam's bias correction (偏差修正) divides by 1 - beta^t")
    assert _messages("the intercept, often called 偏差, is b")
    assert _messages("biases (偏差)")


def test_consistency_covers_plurals_hyphens_line_breaks_and_compounds():
    assert _messages("two mini-\nbatches (小样本)")
    assert not _messages("the learning\nrate (学习率)")
    assert not _messages("Mini-batch stochastic gradient descent (小批量随机梯度下降)")
    assert _messages("over-fitting (拟合过度)")
    assert not _messages("the loss (损失) and a hyperparameter (超参数, chosen by us)")
    assert not _messages("set the bias to zero (initialisation, 初始化)")  # not right after


def test_first_use_needs_the_chinese():
    def first(*cells):
        return [message for _, _, message in first_use_problems(list(cells))]

    assert first("We predict a mini-batch at once.", "a mini-batch (小批量)")
    assert not first("# Mini-batches\nA mini-batch (小批量) is ...", "every mini-batch")
    assert not first("the weight decay (权重衰减) shrinks every weight")
    assert first("bias correction (偏差修正) and the bias $b$")  # bias itself never introduced
    assert not first("bias correction (偏差修正), then the bias (偏置)")
    assert not first("`learning_rate` and $\\text{learning rate}$ are code and formulas")
    assert not first("**mini-batch stochastic gradient descent** (小批量随机梯度下降), "
                     "then gradient descent")
    assert not first("the residuals have no Chinese here")  # only the spec's terms


def test_a_key_term_inside_a_longer_term_is_a_use_of_it():
    def first(*cells):
        return [message for _, _, message in first_use_problems(list(cells))]

    # 随机梯度下降 contains 梯度下降: stochastic gradient descent uses gradient descent.
    (message,) = first("one step of stochastic gradient descent", "gradient descent (梯度下降)")
    assert "'gradient descent' inside 'stochastic gradient descent'" in message
    assert not first("stochastic gradient descent (随机梯度下降), then gradient descent")
    assert first("weight decay (权重衰减) shrinks it") == []
    assert first("weight decay shrinks it")  # weight decay and weight both need the Chinese
    # 偏差修正 does not contain 偏置: bias correction is another concept, not a use of bias.
    assert not first("bias correction (偏差修正) first", "then the bias (偏置)")
