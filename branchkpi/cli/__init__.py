"""The `branchkpi` command line (entry point branchkpi.cli:app). Importing the command modules
registers their commands on the app, in the order `--help` lists them: the daily ones first."""

# isort: skip_file
from branchkpi.cli import ingest, read, evaluate, initiatives, operations, admin, server, worker  # noqa: F401  (each registers its commands)
from branchkpi.cli.app import app

__all__ = ["app"]
