"""Say which sandboxes work here and which one `auto` takes; exit 1 unless exactly the ones
named on the command line work (a sandbox that does not work is skipped by the tests, which
would then pass without testing it). Usage: python .ci/sandboxes.py [bwrap] [namespaces]"""

import sys

from autograding.engine import sandbox

expected = set(sys.argv[1:])
works = {mode for mode in sandbox.SANDBOXES if not sandbox.sandbox_problem(mode)}
for mode in sandbox.SANDBOXES:
    print(f"  {mode}: {sandbox.sandbox_problem(mode) or 'works'}")
print(f"  auto takes: {sandbox.sandbox_mode('auto') if works else 'none (grading stops)'}")
if works != expected:
    print(f"expected exactly {sorted(expected)} to work, got {sorted(works)}")
    sys.exit(1)
