"""Minimal `python -m autograding release` until the pipeline CLI (autograding/cli.py) lands."""

import sys


def main(argv=None):
    """Dispatch `release [ids...]`; the full CLI replaces this module."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "release":
        print("usage: python -m autograding release [assignment ids...]")
        return 2
    from autograding.release import main as release_main

    return release_main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
