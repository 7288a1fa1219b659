"""Entry point of ``python -m coursepkg.grading``."""

import sys

from .cli import main

sys.exit(main())
