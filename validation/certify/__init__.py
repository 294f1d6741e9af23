"""The paper's certification process: the practical attacker's grid and the certificate.

Before release, sweep the attacker's recipes (the optimisers real attackers use, C frozen and
trained, learning rates over five decades, α, seeds, LoRA ranks) against a defence and confirm
that every recipe is slowed at least a given factor.  :mod:`.instances` builds the released
models and their harmful targets, :mod:`.grid` runs the batched sweeps, :mod:`.certificate`
turns them into one record per configuration and a certificate, :mod:`.report` states the
paper's empirical claims as a table for ``report.md``.  ``specdef certify`` is the
command; family ``c4`` of the checks reads the same grid.
"""

from .certificate import (CERTIFICATE_NAME, CertificateFileError, CertifyConfig,  # noqa: F401
                          build_certificate, cell_records, certificate_of_grid, certify,
                          recipe_names)
from .grid import Grid, cell_status, run_grid  # noqa: F401
from .instances import MODELS, MODES, OPTIMISERS, Instance, Optimiser, make_instance  # noqa: F401
from .report import claims_table  # noqa: F401

__all__ = ["CertifyConfig", "certify", "build_certificate", "cell_records", "certificate_of_grid",
           "recipe_names", "CERTIFICATE_NAME", "CertificateFileError", "Grid", "cell_status",
           "run_grid", "MODELS", "MODES", "OPTIMISERS", "Instance", "Optimiser", "make_instance",
           "claims_table"]
