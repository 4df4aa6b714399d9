"""Regimes: who spawns. The recursive regime (agents decide) and the archive regime (a selector decides)."""
