"""``python -m gankit`` (what ``torchrun -m gankit`` runs)."""

import sys

from gankit.cli import main

sys.exit(main())
