"""The cluster tests' Ray: patient with a loaded machine (the app's probe keeps its own deadline)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# Ray Client's first wait for a head to answer (it then doubles it, three tries): read when Ray is first
# imported, which no module does before these tests. A busy two-core machine takes longer than its 5 s
# to start the head's per-client server.
os.environ.setdefault("RAY_CLIENT_INITIAL_CONNECTION_TIMEOUT_S", "30")


@pytest.fixture(scope="package")
def head() -> Iterator[object]:
    """One Ray head of one CPU for the package's tests (a second head soon after the first could not start its
    Ray Client server here)."""
    pytest.importorskip("ray")
    from hear2see_desktop.core.cluster.session import close_sessions
    from tests.core.cluster.ray_head import ray_head

    with ray_head() as running:
        yield running
        close_sessions()
