"""`python -m autograding.intake SOURCE [--submitted DIR] [--force]`."""

import sys

from autograding.intake.command import main

sys.exit(main())
