"""The run directory's checkpoint: what a run has done, written atomically, read back with checks."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path
from typing import Any

from lineage import atomic_write
from spawn.config import SimConfig, config_to_toml
from spawn.errors import CheckpointError

__all__ = ["CHECKPOINT", "config_digest", "read_checkpoint", "write_checkpoint"]

CHECKPOINT = "checkpoint.pkl"
_VERSION = 1


def config_digest(cfg: SimConfig) -> str:
    """A fingerprint of the config as run: a checkpoint resumes only the config that wrote it."""
    return hashlib.sha256(config_to_toml(cfg).encode()).hexdigest()


def write_checkpoint(out: Path, cfg: SimConfig, regime: str, state: Any) -> None:
    payload = {"version": _VERSION, "regime": regime, "config": config_digest(cfg), "state": state}
    atomic_write(out / CHECKPOINT, pickle.dumps(payload, protocol=4))


def read_checkpoint(out: Path, cfg: SimConfig, regime: str) -> Any:
    """The state a run of ``regime`` saved in ``out``; one clear error for anything else."""
    path = out / CHECKPOINT
    try:
        payload = pickle.loads(path.read_bytes())
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no checkpoint; is {str(out)!r} a run directory?") from None
    except Exception as exc:
        raise CheckpointError(f"{path}: corrupt checkpoint ({exc.__class__.__name__})") from None
    if not isinstance(payload, dict) or payload.get("version") != _VERSION or payload.get("regime") != regime:
        raise CheckpointError(f"{path}: not a {regime}-regime checkpoint of this version of lineage-sim")
    if payload["config"] != config_digest(cfg):
        raise CheckpointError(f"{path}: the checkpoint belongs to another config than {out / 'config.toml'}")
    return payload["state"]
