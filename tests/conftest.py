"""Suite-wide settings.

- Hypothesis draws the same examples on every run, so CI is reproducible.
- Ray's token: a local ``ray.init()`` turns token authentication on and, finding no token, writes one
  to ``~/.ray/auth_token``, where every later Ray of the machine (a ``ray start`` cluster in a later
  test, or on the next run) would find it. The suite instead gives every Ray it starts, and every
  process it runs, a token of its own in a temporary file named by ``RAY_AUTH_TOKEN_PATH``, so no
  test depends on, or leaves, a file in the home directory.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
from hypothesis import settings

# Derandomised: a property test explores the same examples each run (seeded from the test itself),
# so a green suite stays green and a red one can be replayed. Deadlines are off: CI machines vary.
settings.register_profile("lineage-sim", derandomize=True, deadline=None, print_blob=True)
settings.load_profile("lineage-sim")

_RAY_TOKEN_VARS = ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")


@pytest.fixture(scope="session", autouse=True)
def _suite_ray_token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in _RAY_TOKEN_VARS}
    token = tmp_path_factory.mktemp("ray-auth") / "auth_token"
    token.write_text(secrets.token_hex(32))
    token.chmod(0o600)
    os.environ.pop("RAY_AUTH_TOKEN", None)
    os.environ["RAY_AUTH_TOKEN_PATH"] = str(token)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
