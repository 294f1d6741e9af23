"""The checks: one subpackage per check family, found by the engine.

Every subpackage of this package is a *family*: the checks of one claim (or one body of
background theory), registered with :func:`specdef.validation.engine.registry.check`.  The
engine discovers the families by walking this package with :mod:`pkgutil`; nothing here
imports them, and there is no hand-kept list.  A family's ``__init__`` says what claim it checks,
lists its check ids, and defines ``ORDER``, its place in ``specdef list --checks``:

======  ==============  =====================================================================
ORDER   family          claim
======  ==============  =====================================================================
10      ``theorem3``    C1: the Theorem-3 Hessian cross-block bound (displayed and corrected)
20      ``background``  first-order background: GD on quadratics, rates, Nesterov's bound
30      ``c2``          C2: second-order methods vs the defence (and Newton's background facts)
40      ``specdef``     the SpecDef map itself: spectra of W̃ and C, function preservation
50      ``c1``          C1: a SpecDef layer slows first-order optimisation
60      ``c3``          C3: attacks that restore fast fine-tuning
70      ``scale``       two theorems at GPU sizes
======  ==============  =====================================================================

A new family takes an unused ``ORDER`` (the gaps are for that).  Within a family the checks
keep the order in which the family's modules register them.

:mod:`.common` holds the helpers that several families use (host transfer, the defence,
record builders, fine-tuning data); no family imports another family.
"""
