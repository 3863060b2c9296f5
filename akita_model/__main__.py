"""Run the ``akita`` command line as ``python -m akita_model``."""

import sys

from akita_model.cli import main

sys.exit(main())
