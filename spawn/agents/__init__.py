"""Agents: a policy plus a learner, over primitive actions and the agent's own tools (macro-actions).

Every agent works per *task* (one environment of the suite), exposes its action distribution
``action_probs`` (the alignment distances need it), and keeps its whole state in
:meth:`Agent.get_params`, so that a child can start from a copy of it. Plugins implement the
:class:`Agent` protocol and are registered with :func:`register_agent` (then named by that name in
``[agent] kind``), or named in a config as ``"module:Class"``.

An agent class declares its hyper-parameters as ``hyper_params``, a tuple of :class:`Hyper` (name,
default, the values ``[agent]`` accepts, the range ``mutate`` perturbs within). ``[agent]`` accepts
exactly the declared names (besides its objective keys), the root agent's spec carries them, and
``mutate`` reads its ranges from the class. A class that declares nothing gets :data:`CLASSIC_HYPER`,
the six the built-ins declare.

The interface and the registry are in :mod:`spawn.agents.base`, the tabular learners and the
uniform baseline in :mod:`spawn.agents.tabular`, the linear softmax policy in
:mod:`spawn.agents.linear`. Randomness comes only from the :class:`numpy.random.Generator` an agent
is given.
"""

from __future__ import annotations

from spawn.agents.base import (
    AGENT_REGISTRY,
    CLASSIC_HYPER,
    PROTOCOL_METHODS,
    RESERVED_KEYS,
    Agent,
    AgentBase,
    Hyper,
    TaskShape,
    agent_class,
    hyper_params,
    mutation_ranges,
    option_mask,
    register_agent,
)
from spawn.agents.linear import LinearSoftmaxAgent
from spawn.agents.tabular import QAgent, QLambdaAgent, RandomAgent

__all__ = [
    "AGENTS",
    "AGENT_REGISTRY",
    "CLASSIC_HYPER",
    "PROTOCOL_METHODS",
    "RESERVED_KEYS",
    "Agent",
    "AgentBase",
    "Hyper",
    "LinearSoftmaxAgent",
    "QAgent",
    "QLambdaAgent",
    "RandomAgent",
    "TaskShape",
    "agent_class",
    "hyper_params",
    "mutation_ranges",
    "option_mask",
    "register_agent",
]

#: The built-in agent kinds, in registration order (the order the registry lists them in;
#: plugins registered later are in :data:`AGENT_REGISTRY` only).
AGENTS: dict[str, type[AgentBase]] = {c.name: c for c in (QAgent, QLambdaAgent, LinearSoftmaxAgent, RandomAgent)}

for _name, _cls in AGENTS.items():
    register_agent(_name)(_cls)
del _name, _cls
