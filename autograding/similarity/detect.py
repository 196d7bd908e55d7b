"""Pairwise similarity of a class's answers: copydetect's fingerprints, boilerplate removed.

copydetect tokenizes Python with Pygments and replaces every name by one letter, drops
comments and whitespace, and fingerprints the result by its k-grams (k = `noise`, in
characters of that normalized text). With a winnowing window of 1 every k-gram is a
fingerprint: answers are short, so that costs little, and it makes the scores independent of
Python's per-process string hashing (a wider window keeps the smallest hash of each window,
which would change from run to run). A k-gram of the released copy is boilerplate and dropped.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from itertools import combinations

import numpy as np

# Measured by bench/bench_similarity.py (see README, "Similarity"): with k = 15 (about one
# short statement, `V=V.V(V,V=V)+V`) every planted copy ranked above every independent pair
# in all five classes; k = 20 and more lose too much of a copy whose statements were swapped.
DEFAULT_NOISE = 15
# The report's default threshold, from the same bench: see README, "Similarity".
DEFAULT_THRESHOLD = 0.9
DEFAULT_MAX_PAIRS = 50


@dataclass(frozen=True)
class SimilaritySettings:
    """How answers are fingerprinted and compared, and which pairs the HTML report shows."""

    noise: int = DEFAULT_NOISE  # shortest match that counts, in normalized characters
    window: int = 1  # winnowing window; 1 keeps every k-gram (deterministic, see above)
    threshold: float = DEFAULT_THRESHOLD  # the report shows pairs at or above this
    max_pairs: int = DEFAULT_MAX_PAIRS  # at most this many pairs per assignment in the report


@dataclass
class Fingerprint:
    """One student's answers, fingerprinted (copydetect's CodeFingerprint, boilerplate out)."""

    student: str
    code: object  # copydetect.CodeFingerprint

    @property
    def text(self) -> str:
        """The answer text the fingerprint was made from."""
        return self.code.raw_code


@dataclass
class Pair:
    """Two students' answers to one assignment, compared."""

    student_a: str
    student_b: str
    similarity: float  # the mean of the two shares below, in [0, 1]
    share_a: float  # share of a's fingerprinted code found in b's
    share_b: float
    slices_a: np.ndarray  # 2 x N: starts and ends of the matching code in a's text
    slices_b: np.ndarray


def boilerplate_hashes(text: str, settings: SimilaritySettings) -> frozenset:
    """Every k-gram hash of the boilerplate (all of them, not winnowed, as copydetect does)."""
    from copydetect import CodeFingerprint

    stub = CodeFingerprint("boilerplate.py", settings.noise, 1, language="python",
                           fp=io.StringIO(text))
    return frozenset(stub.hashes)


def fingerprint(student: str, text: str, boilerplate: frozenset,
                settings: SimilaritySettings) -> Fingerprint:
    """The fingerprint of one student's answers, without the boilerplate's k-grams.

    copydetect can drop boilerplate itself, but its numpy intersection assumes hashes are
    unique within a file, so a line repeated in an answer loses fingerprints: dropped here."""
    from copydetect import CodeFingerprint
    from copydetect.utils import get_token_coverage

    code = CodeFingerprint(f"{student}.py", settings.noise, settings.window,
                           language="python", fp=io.StringIO(text))
    code.hash_idx = {h: at for h, at in code.hash_idx.items() if h not in boilerplate}
    code.hashes = set(code.hash_idx)
    code.token_coverage = get_token_coverage(code.hash_idx, settings.noise,
                                             len(code.filtered_code))
    return Fingerprint(student, code)


def compare(a: Fingerprint, b: Fingerprint) -> Pair:
    """One pair's similarity and where the shared code is."""
    from copydetect import compare_files

    if not a.code.hashes or not b.code.hashes:  # nothing of one's own: nothing shared
        empty = np.zeros((2, 0), dtype=int)
        return Pair(a.student, b.student, 0.0, 0.0, 0.0, empty, empty)
    _, (share_a, share_b), (slices_a, slices_b) = compare_files(a.code, b.code)
    share_a, share_b = (min(1.0, max(0.0, float(s))) for s in (share_a, share_b))
    empty = np.zeros((2, 0), dtype=int)
    slices_a = slices_a if np.size(slices_a) else empty
    slices_b = slices_b if np.size(slices_b) else empty
    return Pair(a.student, b.student, (share_a + share_b) / 2, share_a, share_b,
                np.asarray(slices_a, dtype=int), np.asarray(slices_b, dtype=int))


def compare_all(fingerprints: list[Fingerprint]) -> list[Pair]:
    """Every pair of the list (students in name order within a pair), highest first."""
    ordered = sorted(fingerprints, key=lambda f: f.student)
    pairs = [compare(a, b) for a, b in combinations(ordered, 2)]
    pairs.sort(key=lambda p: (-p.similarity, p.student_a, p.student_b))
    return pairs


def compare_assignment(texts: dict[str, str], boilerplate: str, settings: SimilaritySettings
                       ) -> tuple[list[Pair], dict[str, str]]:
    """Every pair of students' answer texts, highest first, and {student: why not compared}
    for a text the tokenizer could not take."""
    stub = boilerplate_hashes(boilerplate, settings)
    fingerprints, failed = [], {}
    for student, text in sorted(texts.items()):
        try:
            fingerprints.append(fingerprint(student, text, stub, settings))
        except Exception as err:  # Pygments or numpy on hostile text: skip it, never crash
            failed[student] = f"answer code could not be tokenized ({type(err).__name__})"
    return compare_all(fingerprints), failed
