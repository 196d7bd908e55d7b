"""`python -m autograding.demo`: the demo with its own command line."""

import argparse
import sys

from autograding.demo.command import add_arguments, run, run_demo

parser = argparse.ArgumentParser(prog="python -m autograding.demo", description=run_demo.__doc__)
add_arguments(parser)
sys.exit(run(parser.parse_args()))
