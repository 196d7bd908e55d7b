"""Pairwise scores: a planted copy ranks first, the stub never counts, scores are stable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from similarity_class import ASSIGNMENT, BLANK, MASTER, PLANTED, write_class

from autograding.course.release import COURSE_ROOT
from autograding.similarity.collect import collect, load_masters
from autograding.similarity.detect import (
    SimilaritySettings,
    boilerplate_hashes,
    compare_assignment,
    fingerprint,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """The planted class's pairs, highest first, and what was collected."""
    submitted = tmp_path_factory.mktemp("class") / "submitted"
    write_class(submitted)
    found = collect(submitted, load_masters(COURSE_ROOT, [ASSIGNMENT]))
    texts = {s: a.text for s, a in found.answers[ASSIGNMENT].items()}
    pairs, failed = compare_assignment(texts, found.boilerplate[ASSIGNMENT],
                                       SimilaritySettings())
    assert not failed
    return pairs, found


def test_the_planted_copy_ranks_first_with_a_clear_gap(scored):
    pairs, _ = scored
    top, second = pairs[0], pairs[1]
    assert {top.student_a, top.student_b} == PLANTED, [
        (p.student_a, p.student_b, round(p.similarity, 3)) for p in pairs[:4]]
    # Renamed, recommented, spread out and partly reordered, the copy still matches almost
    # all of ben's answer code; independent answers to the same exercises share far less.
    assert top.similarity >= 0.85
    assert top.similarity - second.similarity >= 0.3, (top.similarity, second.similarity)


def test_the_released_stub_never_counts(scored):
    pairs, _ = scored
    blank = [p for p in pairs if {p.student_a, p.student_b} & set(BLANK)]
    assert len(blank) == 9  # eve and fay against the four others, and each other
    assert all(p.similarity == 0 for p in blank), [
        (p.student_a, p.student_b, p.similarity) for p in blank if p.similarity]


def test_every_pair_once_in_name_order_scores_in_range(scored):
    pairs, found = scored
    students = sorted(found.answers[ASSIGNMENT])
    assert students == ["ana", "ben", "cho", "dan", "eve", "fay"]
    assert len(pairs) == 15
    assert all(p.student_a < p.student_b and 0 <= p.similarity <= 1 for p in pairs)
    assert [p.similarity for p in pairs] == sorted((p.similarity for p in pairs), reverse=True)


def test_the_corrupt_notebook_is_skipped_with_its_reason(scored):
    _, found = scored
    assert [(s.student, s.assignment) for s in found.skipped] == [("zed", ASSIGNMENT)]
    assert "not valid JSON" in found.skipped[0].reason


def test_a_line_repeated_in_an_answer_keeps_its_fingerprint():
    settings = SimilaritySettings()
    line = "    total = total + torch.linspace(lo, hi, steps).sum(dim=0)\n"
    text = "def f(lo, hi, steps):\n    total = 0\n" + line * 2 + "    return total\n"
    stub = boilerplate_hashes("def f(lo, hi, steps):\n    pass\n", settings)
    print_ = fingerprint("a", text, stub, settings)
    assert print_.code.hashes and set(print_.code.hash_idx) == print_.code.hashes
    # Every k-gram of the repeated line occurs twice; both places stay fingerprinted.
    assert max(len(at) for at in print_.code.hash_idx.values()) == 2


def test_scores_do_not_depend_on_pythons_hash_seed(tmp_path):
    write_class(tmp_path / "submitted")
    script = (
        "import sys\n"
        "from autograding.similarity import SimilaritySettings, similarity_report\n"
        f"similarity_report(sys.argv[1], sys.argv[2], SimilaritySettings(), None, "
        f"[{ASSIGNMENT!r}])\n")
    # Both at once (separate processes and output folders): each is mostly its imports.
    runs = {seed: subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / "submitted"), str(tmp_path / f"out{seed}")],
        cwd=ROOT, env=dict(os.environ, PYTHONHASHSEED=seed, MPLBACKEND="Agg"))
        for seed in ("1", "2")}
    try:
        for run in runs.values():
            assert run.wait(timeout=300) == 0
    finally:
        for run in runs.values():
            run.kill()  # no-op once it ended; stops the other one if an assert failed
    outputs = [(tmp_path / f"out{seed}" / "similarity" / "similarity.csv").read_text()
               for seed in runs]
    assert outputs[0] == outputs[1]
    assert MASTER.is_file()
