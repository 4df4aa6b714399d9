"""Regimes: who spawns. In the recursive regime (:mod:`spawn.regimes.recursive`) agents decide, by
their triggers and quota; in the archive regime (:mod:`spawn.regimes.archive`) a parent selector
(:mod:`spawn.regimes.selectors`) picks which archived agents breed."""
