"""Sphinx configuration of the specdef-toolkit documentation.

Build: ``sphinx-build -W -b html docs <out>`` (warnings are errors).  Generated at build time,
never committed: the theorem pages (``theory/theorems/``, from ``specdef.theory`` by
``_ext/theorem_pages.py``), the API stubs (``api/generated/``, autosummary) and the gallery
(``auto_examples/``, sphinx-gallery runs ``examples/plot_*.py``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE / "_ext"))
os.environ.setdefault("MPLBACKEND", "Agg")

from specdef.numerics import __version__  # noqa: E402

project = "specdef-toolkit"
author = "the specdef-toolkit developers"
copyright = "the specdef-toolkit developers"  # noqa: A001
version = release = __version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sphinxarg.ext",
    "theorem_pages",
    "api_pages",
    "figure_pages",
]

exclude_patterns = ["_build", "examples/README.rst", "**/GALLERY_HEADER.rst"]
templates_path = ["_templates"]
root_doc = "index"
default_role = "code"
nitpicky = False

# -- API reference -----------------------------------------------------------------------------
# the API pages are written by _ext/api_pages.py when the build starts, after Sphinx has listed
# the source files: name them, so that autosummary makes their stubs on a fresh checkout too
import api_pages  # noqa: E402

autosummary_generate = [str(api_pages.OUT / f"{m.split('.', 1)[1].replace('.', '_')}.rst")
                        for m in api_pages.MODULES]
autosummary_imported_members = True
autodoc_default_options = {"members": False, "show-inheritance": False}
autodoc_typehints = "none"
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()
numpydoc_xref_param_type = False

# -- Gallery -----------------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": ["examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/plot_",
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "remove_config_comments": True,
    "download_all_examples": False,
    "show_memory": False,
    "plot_gallery": "True",
    "within_subsection_order": "FileNameSortKey",
    "reset_modules": ("matplotlib",),
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "min_reported_time": 1e9,
}

# -- HTML --------------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"specdef-toolkit {release}"
html_static_path: list[str] = []
html_show_sourcelink = False
