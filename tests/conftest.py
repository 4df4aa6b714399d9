"""Suite-wide settings: hypothesis draws the same examples on every run, so CI is reproducible."""

from __future__ import annotations

from hypothesis import settings

# Derandomised: a property test explores the same examples each run (seeded from the test itself),
# so a green suite stays green and a red one can be replayed. Deadlines are off: CI machines vary.
settings.register_profile("lineage-sim", derandomize=True, deadline=None, print_blob=True)
settings.load_profile("lineage-sim")
