"""The course's glossary: one Chinese term per English term, and a checker for the notebooks.

Rules the notebooks follow (tests/course/test_glossary.py applies them to every master):

1. A Chinese term in parentheses right after a glossary term is that term's Chinese
   ("bias (偏置)", "mini-batch stochastic gradient descent (小批量随机梯度下降)").
2. 偏差 means statistical bias only: it may appear only in the parentheses after
   "statistical bias" or "bias correction", never after "bias" or anywhere else.
3. The first use of a key term (the spec's list, `KEY_TERMS`) in a notebook's prose gives
   its Chinese in parentheses; headings, code spans and formulas are not uses. A use inside
   a longer glossary term is a use of the key term when the longer term's Chinese contains
   the key term's ("weight decay (权重衰减)" introduces weight; "stochastic gradient descent"
   with no parenthesis is a first use of gradient descent without its Chinese 梯度下降), and
   is skipped otherwise ("bias correction (偏差修正)" does not introduce bias (偏置)).

Run `python -m course_utils.glossary NOTEBOOK.ipynb ...` to list the problems.
"""

import json
import re
import sys

#: English term -> the one Chinese term the course uses for it.
GLOSSARY = {
    # the spec's list (COURSE_SPEC.md, "Second edition")
    "bias": "偏置",
    "weight": "权重",
    "loss function": "损失函数",
    "learning rate": "学习率",
    "mini-batch": "小批量",
    "gradient descent": "梯度下降",
    "overfitting": "过拟合",
    "weight decay": "权重衰减",
    "likelihood": "似然",
    "training set": "训练集",
    "validation set": "验证集",
    "test set": "测试集",
    # statistical bias: the only meaning of 偏差
    "statistical bias": "偏差",
    "bias correction": "偏差修正",
    # terms the notebooks already use, each with one Chinese term
    "linear regression": "线性回归",
    "feature": "特征",
    "broadcasting": "广播机制",
    "epoch": "迭代周期",
    "hyperparameter": "超参数",
    "residual": "残差",
    "mean squared error": "均方误差",
    "mean absolute error": "平均绝对误差",
    "batch size": "批量大小",
    "stochastic gradient descent": "随机梯度下降",
    "quantile loss": "分位数损失",
    "outlier": "异常点",
}

#: The spec's glossary: rule 3 (Chinese at the first use in each notebook) applies to these.
KEY_TERMS = (
    "bias", "weight", "loss function", "learning rate", "mini-batch", "gradient descent",
    "overfitting", "weight decay", "likelihood", "training set", "validation set", "test set",
)

#: Other spellings of a glossary term (hyphens and spaces are interchangeable anyway).
ALIASES = {
    "overfitting": ["over-fitting"],
    "mini-batch": ["minibatch"],
    "training set": ["train set"],
}

STATISTICAL_BIAS = "偏差"

_CJK = re.compile(r"[\u4e00-\u9fff]")
_PAREN = re.compile(r"[(（]([^()（）]*)[)）]")


def _norm(text):
    """Lower case, hyphens and runs of white space as one space."""
    return re.sub(r"[\s\-]+", " ", text.lower())


def _patterns():
    """(term, compiled regex) for every spelling, longest first, plurals allowed."""
    found = []
    for term in GLOSSARY:
        for spelling in [term, *ALIASES.get(term, [])]:
            words = [re.escape(w) for w in _norm(spelling).split(" ")]
            body = r"[\s\-]+".join(words)
            found.append((len(spelling), term, re.compile(rf"\b{body}(?:es|s)?\b", re.I)))
    found.sort(key=lambda item: -item[0])
    return [(term, pattern) for _, term, pattern in found]


_PATTERNS = _patterns()


def _blank(match):
    """The matched text as spaces, new lines kept (positions and line numbers unchanged)."""
    return re.sub(r"[^\n]", " ", match.group(0))


def _prose(markdown):
    """Markdown without headings, code spans, math and fenced code, blanked in place."""
    text = re.sub(r"^#.*$", _blank, markdown, flags=re.M)
    text = re.sub(r"```.*?```", _blank, text, flags=re.S)
    text = re.sub(r"`[^`]*`", _blank, text)
    text = re.sub(r"\$\$.*?\$\$", _blank, text, flags=re.S)
    text = re.sub(r"\$[^$]*\$", _blank, text)
    return text


def _matches(text):
    """Glossary term occurrences as (start, end, term), the longest one at each place."""
    taken = []
    for term, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            if not any(s <= m.start() < e or s < m.end() <= e for s, e, _ in taken):
                taken.append((m.start(), m.end(), term))
    return sorted(taken)


def _paren_after(text, end):
    """The parenthesis right after position `end` (bold marks and white space between)."""
    m = re.match(r"[\s*_]*[(（]([^()（）]*)[)）]", text[end:])
    return m.group(1) if m else None


def _line_of(text, pos):
    return text[:pos].count("\n") + 1


def cell_term_problems(text):
    """Rules 1 and 2 on one cell's text: a list of (position, message)."""
    problems = []
    allowed = set()
    for start, end, term in _matches(text):
        inside = _paren_after(text, end)
        if inside is None or not _CJK.search(inside):
            continue
        paren_start = text.index(inside, end)
        if GLOSSARY[term] not in inside:
            problems.append((start, f"{text[start:end]!r} ({inside}): the glossary's term is "
                                    f"{GLOSSARY[term]}"))
        if STATISTICAL_BIAS in GLOSSARY[term]:
            allowed.add(paren_start + inside.index(STATISTICAL_BIAS))
    for m in re.finditer(STATISTICAL_BIAS, text):
        if m.start() not in allowed:
            context = text[max(0, m.start() - 40):m.end() + 5].replace("\n", " ")
            problems.append((m.start(), f"偏差 is statistical bias only (write 偏置 for the "
                                        f"bias of a model): ...{context}"))
    return problems


def first_use_problems(markdown_cells):
    """Rule 3 over a notebook's markdown cells in order: a list of (cell, position, message)."""
    introduced, problems = set(), []
    for index, source in enumerate(markdown_cells):
        text = _prose(source)
        found = _matches(text)
        for i, (start, end, term) in enumerate(found):
            last = i  # "mini-batch stochastic gradient descent (...)": one paren for the run
            while last + 1 < len(found) and \
                    not text[found[last][1]:found[last + 1][0]].strip(" \t\n-*_"):
                last += 1
            inside = _paren_after(text, found[last][1]) or ""
            for other, pattern in _PATTERNS:
                if other in introduced or other not in KEY_TERMS:
                    continue
                if other != term and not pattern.search(text[start:end]):
                    continue  # `other` is not used here
                if other != term and GLOSSARY[other] not in GLOSSARY[term]:
                    continue  # another concept: "bias correction" (偏差修正) is no bias (偏置)
                introduced.add(other)
                if GLOSSARY[other] not in inside:
                    used = "" if other == term else f" inside {term!r}"
                    problems.append((index, start, f"first use of {other!r}{used} "
                                                   f"({text[start:end]!r}) needs "
                                                   f"({GLOSSARY[other]}) after it"))
    return problems


def glossary_problems(path):
    """Every glossary problem of one notebook, as readable lines."""
    with open(path, encoding="utf-8") as handle:
        cells = json.load(handle)["cells"]
    sources = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
               for c in cells]
    lines = []
    for index, source in enumerate(sources):
        for pos, message in cell_term_problems(source):
            lines.append(f"{path}: cell {index} line {_line_of(source, pos)}: {message}")
    markdown = [(i, s) for i, (c, s) in enumerate(zip(cells, sources))
                if c["cell_type"] == "markdown"]
    for k, pos, message in first_use_problems([s for _, s in markdown]):
        index = markdown[k][0]
        line = _line_of(_prose(markdown[k][1]), pos)
        lines.append(f"{path}: cell {index} line {line}: {message}")
    return lines


if __name__ == "__main__":
    found = [line for path in sys.argv[1:] for line in glossary_problems(path)]
    print("\n".join(found) or "no glossary problems")
    sys.exit(1 if found else 0)
