"""`python -m autograding COMMAND`: the course's command line (see autograding/cli.py)."""

import sys

from autograding.cli import main

if __name__ == "__main__":
    sys.exit(main())
