"""AIQ: Legg and Veness's universal intelligence test of an agent on programs of the BF(5) reference machine.

>>> from spawn.aiq import estimate_upsilon, compare_agents

* :mod:`spawn.aiq.pool`: the stratum pool of active programs, drawn from a seed and cached on disk
  (:func:`load_pool`, :class:`StratumPool`; :func:`check_work` refuses work over the limits).
* :mod:`spawn.aiq.runs`: one episode (:func:`run_episode`) and a program's two antithetic runs.
* :mod:`spawn.aiq.allocation`: how programs are spread over the strata (:data:`ALLOCATIONS`:
  ``"adaptive"``, the reference's default, and ``"proportional"``), each with its estimator.
* :mod:`spawn.aiq.estimate`: :func:`estimate_upsilon` (Upsilon and, aligned, Sigma, as a
  :class:`UniversalResult`) and :func:`compare_agents` (paired differences).
* :mod:`spawn.aiq.agents`: the baseline agents of the published table (:data:`AIQ_AGENTS`,
  :func:`make_aiq_agent`) and :class:`LineageAgentFactory`, which scores a simulator agent.
"""

from spawn.aiq.agents import (
    AIQ_AGENTS,
    PUBLISHED,
    AIQAgent,
    FreqAgent,
    HLQLambdaAgent,
    LineageAgent,
    LineageAgentFactory,
    QLambdaAIQAgent,
    RandomAIQAgent,
    agent_parameters,
    make_aiq_agent,
)
from spawn.aiq.allocation import (
    ALLOCATIONS,
    DEFAULT_ALLOCATION,
    AdaptiveAllocation,
    Allocation,
    ProportionalAllocation,
)
from spawn.aiq.estimate import UniversalResult, compare_agents, estimate_upsilon
from spawn.aiq.pool import POOL_CHUNK, REFERENCE_P, StratumPool, check_work, default_cache_dir, load_pool
from spawn.aiq.runs import AgentFactory, run_episode

__all__ = [
    "AIQ_AGENTS",
    "ALLOCATIONS",
    "DEFAULT_ALLOCATION",
    "POOL_CHUNK",
    "PUBLISHED",
    "REFERENCE_P",
    "AIQAgent",
    "AdaptiveAllocation",
    "AgentFactory",
    "Allocation",
    "FreqAgent",
    "HLQLambdaAgent",
    "LineageAgent",
    "LineageAgentFactory",
    "ProportionalAllocation",
    "QLambdaAIQAgent",
    "RandomAIQAgent",
    "StratumPool",
    "UniversalResult",
    "agent_parameters",
    "check_work",
    "compare_agents",
    "default_cache_dir",
    "estimate_upsilon",
    "load_pool",
    "make_aiq_agent",
    "run_episode",
]
