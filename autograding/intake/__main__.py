"""`python -m autograding.intake SOURCE [--submitted DIR] [--force]`: intake on its own."""

import sys

from autograding.intake.command import main

sys.exit(main())
