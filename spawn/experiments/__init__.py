"""Experiments over many runs: sweeps and selector studies."""
