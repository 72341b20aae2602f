"""The cluster tests' Ray: patient with a loaded machine (the app's probe keeps its own deadline)."""

from __future__ import annotations

import os

# Ray Client's first wait for a head to answer (it then doubles it, three tries): read when Ray is first
# imported, which no module does before these tests. A busy two-core machine takes longer than its 5 s
# to start the head's per-client server.
os.environ.setdefault("RAY_CLIENT_INITIAL_CONNECTION_TIMEOUT_S", "30")
