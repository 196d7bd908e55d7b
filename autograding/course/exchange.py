"""Give nbgrader's exchange the same student notebooks as notebooks/ (badge, setup, self-check).

`nbgrader release_assignment <id>` hands out `<course>/release/<id>/`. nbgrader's own
`generate_assignment` writes that folder without the course cells that `make release` adds, so
after `make release` run `python -m autograding.course.exchange [ids...]` to copy
notebooks/<id>.ipynb there, then `cd autograding && nbgrader release_assignment <id>`.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from autograding.course.release import ASSIGNMENT_IDS, COURSE_ROOT, NOTEBOOKS_DIR


def stage_release(course_root=None, notebooks_dir=None, assignment_ids=None) -> list[Path]:
    """Copy notebooks/<id>.ipynb to <course_root>/release/<id>/<id>.ipynb; return the copies."""
    course_root = Path(course_root or COURSE_ROOT)
    notebooks_dir = Path(notebooks_dir or NOTEBOOKS_DIR)
    staged = []
    for assignment_id in assignment_ids or ASSIGNMENT_IDS:
        source = notebooks_dir / f"{assignment_id}.ipynb"
        if not source.is_file():
            raise FileNotFoundError(
                f"{source}: no student notebook; run `make release` first (it writes notebooks/)"
            )
        target = course_root / "release" / assignment_id / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        staged.append(target)
    return staged


def main(argv=None) -> int:
    """`python -m autograding.course.exchange [ids...]`: stage the release folder, print paths."""
    args = list(sys.argv[1:] if argv is None else argv)
    if any(arg in ("-h", "--help") for arg in args):
        print(__doc__.strip())
        print(f"\nusage: python -m autograding.course.exchange [{' '.join(ASSIGNMENT_IDS)}]")
        return 0
    unknown = [arg for arg in args if arg not in ASSIGNMENT_IDS]
    if unknown:
        print(f"unknown assignment id(s) {unknown}; choose from {list(ASSIGNMENT_IDS)}")
        return 2
    try:
        paths = stage_release(assignment_ids=args or None)
    except FileNotFoundError as err:
        print(err)
        return 1
    for path in paths:
        print(f"staged {path}")
    print("next: cd autograding && nbgrader release_assignment <id>  (for each id)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
