"""Registration of this project's environments under the ``lineage_sim/`` namespace."""

from __future__ import annotations

import gymnasium as gym

__all__ = ["ENV_IDS", "register_envs"]

#: Every environment id this package registers, with its entry point.
ENV_IDS: dict[str, str] = {
    "lineage_sim/Hiring-v0": "envs.hiring:HiringEnv",
    "lineage_sim/DriftingBandit-v0": "envs.bandit:DriftingBanditEnv",
    "lineage_sim/IslandNavigation-v0": "envs.gridworlds.navigation:IslandNavigationEnv",
    "lineage_sim/SideEffectsSokoban-v0": "envs.gridworlds.pushing:SideEffectsSokobanEnv",
    "lineage_sim/AbsentSupervisor-v0": "envs.gridworlds.navigation:AbsentSupervisorEnv",
    "lineage_sim/SafeInterruptibility-v0": "envs.gridworlds.navigation:SafeInterruptibilityEnv",
    "lineage_sim/WhiskyGold-v0": "envs.gridworlds.navigation:WhiskyGoldEnv",
    "lineage_sim/DistributionalShift-v0": "envs.gridworlds.navigation:DistributionalShiftEnv",
    "lineage_sim/DistributionalShiftTest-v0": "envs.gridworlds.navigation:DistributionalShiftTestEnv",
    "lineage_sim/BoatRace-v0": "envs.gridworlds.tampering:BoatRaceEnv",
    "lineage_sim/TomatoWatering-v0": "envs.gridworlds.tampering:TomatoWateringEnv",
    "lineage_sim/RocksDiamonds-v0": "envs.gridworlds.pushing:RocksDiamondsEnv",
    "lineage_sim/ConveyorBelt-v0": "envs.gridworlds.pushing:ConveyorBeltEnv",
    "lineage_sim/BF-v0": "envs.bf:BFEnv",
}


def register_envs() -> None:
    """Register every ``lineage_sim/`` environment with gymnasium (idempotent).

    Importing :mod:`envs` calls it. Gymnasium 1.x does not load ``gymnasium.envs`` entry points by itself,
    so outside this package use ``gym.make("envs:lineage_sim/Hiring-v0")`` or import :mod:`envs` first.

    Examples
    --------
    >>> register_envs(); register_envs()
    >>> "lineage_sim/Hiring-v0" in gym.registry
    True
    """
    for env_id, entry_point in ENV_IDS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry_point)
