"""Side-by-side benchmarks (toolkit vs baseline); not part of the default pytest run."""
