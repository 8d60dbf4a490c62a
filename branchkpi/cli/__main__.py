"""`python -m branchkpi.cli`: the same command line (how `server start` runs its server in the background)."""

from branchkpi.cli import app

app(prog_name="branchkpi")
