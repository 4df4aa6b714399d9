"""An agent's life as a pure job: spec and record types, training, evaluation, the suite,
triggers, operators and objectives."""
