"""Run the ``akita`` command line as ``python -m akita_model``."""

import sys

from akita_model.cli import run

# Guarded: worker processes of a parallel build import this module again.
if __name__ == "__main__":
    sys.exit(run())
