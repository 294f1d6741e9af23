"""``python -m specdef.validation.cli``: the ``specdef`` command."""

import sys

from .main import main

sys.exit(main())
