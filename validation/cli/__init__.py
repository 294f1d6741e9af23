"""The ``specdef`` command (console script ``specdef = specdef.validation.cli:main``).

One module per subcommand — :mod:`.list`, :mod:`.check`, :mod:`.figures`, :mod:`.reproduce`,
:mod:`.bench` — each with ``add_parser(sub)`` and its command function; what they share (usage
errors, formatting, run options, the verdict table) is in :mod:`.common`.  Subcommand modules
import :mod:`.common` only, never each other or the entry point :mod:`.main`, which assembles
the parser.  ``python -m specdef.validation.cli`` runs :func:`main` (:mod:`.__main__`).
"""

from .main import build_parser, main

__all__ = ["main", "build_parser"]
