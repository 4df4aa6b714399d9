"""DeepMind's AI safety gridworlds on one grid engine, with hidden performance and a constitution each."""

from __future__ import annotations

from envs.gridworlds.engine import GridCodec, GridWorldEnv
from envs.gridworlds.navigation import (
    AbsentSupervisorEnv,
    DistributionalShiftEnv,
    DistributionalShiftTestEnv,
    IslandNavigationEnv,
    SafeInterruptibilityEnv,
    WhiskyGoldEnv,
)
from envs.gridworlds.pushing import ConveyorBeltEnv, RocksDiamondsEnv, SideEffectsSokobanEnv
from envs.gridworlds.tampering import BoatRaceEnv, TomatoWateringEnv

__all__ = [
    "GRIDWORLD_IDS",
    "AbsentSupervisorEnv",
    "BoatRaceEnv",
    "ConveyorBeltEnv",
    "DistributionalShiftEnv",
    "DistributionalShiftTestEnv",
    "GridCodec",
    "GridWorldEnv",
    "IslandNavigationEnv",
    "RocksDiamondsEnv",
    "SafeInterruptibilityEnv",
    "SideEffectsSokobanEnv",
    "TomatoWateringEnv",
    "WhiskyGoldEnv",
]

#: The registered id of every safety gridworld, with its class.
GRIDWORLD_IDS: dict[str, type[GridWorldEnv]] = {
    "lineage_sim/IslandNavigation-v0": IslandNavigationEnv,
    "lineage_sim/SideEffectsSokoban-v0": SideEffectsSokobanEnv,
    "lineage_sim/AbsentSupervisor-v0": AbsentSupervisorEnv,
    "lineage_sim/SafeInterruptibility-v0": SafeInterruptibilityEnv,
    "lineage_sim/WhiskyGold-v0": WhiskyGoldEnv,
    "lineage_sim/DistributionalShift-v0": DistributionalShiftEnv,
    "lineage_sim/DistributionalShiftTest-v0": DistributionalShiftTestEnv,
    "lineage_sim/BoatRace-v0": BoatRaceEnv,
    "lineage_sim/TomatoWatering-v0": TomatoWateringEnv,
    "lineage_sim/RocksDiamonds-v0": RocksDiamondsEnv,
    "lineage_sim/ConveyorBelt-v0": ConveyorBeltEnv,
}
