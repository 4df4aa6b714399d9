"""Gymnasium environments and constitutions: where agents act, and what they must not do."""

from __future__ import annotations

from envs import fairness, gridworlds
from envs.bandit import DriftingBanditEnv
from envs.bf import (
    BFEnv,
    BFMachine,
    bf_constitution,
    classify_program,
    program_complexity_bits,
    random_program,
    sample_program,
    simplify_program,
)
from envs.constitution import (
    Constitution,
    ForbiddenAction,
    ForbiddenState,
    Invariance,
    Rule,
    description_length_bits,
)
from envs.describe import EnvDescription, canonical_description, complexity_bits, describe
from envs.errors import (
    ConstitutionMismatchError,
    EnvsError,
    InvalidParameterError,
    NoAllowedActionError,
    RuleError,
    UnknownConstitutionError,
    UnknownEnvironmentError,
    UnknownRuleError,
)
from envs.hiring import HiringEnv, hiring_constitution
from envs.library import (
    attach_constitution,
    cliff_constitution,
    constitution_names,
    frozen_lake_constitution,
    get_constitution,
    make,
    register_constitution,
)
from envs.registration import ENV_IDS, register_envs
from envs.wrapper import ConstitutionWrapper

__all__ = [
    "ENV_IDS",
    "BFEnv",
    "BFMachine",
    "Constitution",
    "ConstitutionMismatchError",
    "ConstitutionWrapper",
    "DriftingBanditEnv",
    "EnvDescription",
    "EnvsError",
    "ForbiddenAction",
    "ForbiddenState",
    "HiringEnv",
    "InvalidParameterError",
    "Invariance",
    "NoAllowedActionError",
    "Rule",
    "RuleError",
    "UnknownConstitutionError",
    "UnknownEnvironmentError",
    "UnknownRuleError",
    "attach_constitution",
    "bf_constitution",
    "canonical_description",
    "classify_program",
    "cliff_constitution",
    "complexity_bits",
    "constitution_names",
    "describe",
    "description_length_bits",
    "fairness",
    "frozen_lake_constitution",
    "get_constitution",
    "gridworlds",
    "hiring_constitution",
    "make",
    "program_complexity_bits",
    "random_program",
    "register_constitution",
    "register_envs",
    "sample_program",
    "simplify_program",
]

register_envs()
