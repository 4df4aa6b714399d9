"""The four packages' public faces: every exported name resolves; lazy loading keeps imports light."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest


@pytest.mark.parametrize("package", ["lineage", "envs", "attribution", "spawn"])
def test_every_exported_name_resolves(package: str) -> None:
    module = importlib.import_module(package)
    for name in module.__all__:
        assert getattr(module, name) is not None, f"{package}.{name}"
    assert sorted(module.__all__) == sorted(set(module.__all__))


def test_an_agent_job_imports_no_heavy_libraries() -> None:
    code = (
        "import sys; import spawn.life.job; "
        "heavy = [m for m in ('networkx', 'rich', 'pandas', 'scipy', 'matplotlib', 'ray') if m in sys.modules]; "
        "sys.exit(','.join(heavy) or None)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"spawn.job pulled in: {done.stderr.strip()}"
