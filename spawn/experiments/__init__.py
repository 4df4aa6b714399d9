"""Experiments over many runs: sweeps, selector studies, and the best-against-budget curve both draw on."""
