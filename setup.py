"""Map the repository's root folders into the one installed package, ``specdef``.

The layout is ``theory/``, ``numerics/``, ``validation/``, ``figures/``, ``benchmarks/`` at the
root; installed, they are ``specdef.theory``, ``specdef.numerics``, ... and nothing else lands on
``sys.path``. Everything else about the build is in ``pyproject.toml``.
"""

from setuptools import find_packages, setup

ROOTS = ("theory", "numerics", "validation", "figures", "benchmarks")

packages = [f"specdef.{p}" for p in find_packages(include=[f"{r}*" for r in ROOTS])]
setup(packages=packages, package_dir={f"specdef.{r}": r for r in ROOTS})
