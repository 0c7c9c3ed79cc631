"""Hypothesis profiles for the fuzz tests: ``ci`` (10,000 examples a property, chosen when CI is set) and ``dev``
(a few hundred, for a quick local run). ``HYPOTHESIS_PROFILE`` picks one by name. No example database is kept:
every run starts fresh, and a failure prints the example that reproduces it."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = {"deadline": None, "database": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("ci", max_examples=10_000, **_COMMON)
settings.register_profile("dev", max_examples=300, **_COMMON)
settings.register_profile("measure", max_examples=2000, **_COMMON)  # to time the ci profile by extrapolation
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))

# a property that writes a store per example, or traces every allocation, is far dearer than one that parses:
# it gets a share of the examples
STORE_EXAMPLES = max(50, settings().max_examples // 20)
MEMORY_EXAMPLES = max(50, settings().max_examples // 10)
# `validate` through the CLI: validation itself gets the full count in test_fuzz_envelope.py
CLI_EXAMPLES = max(100, settings().max_examples // 5)
