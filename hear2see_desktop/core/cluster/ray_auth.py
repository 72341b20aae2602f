"""Ray's token authentication for a client that joins a cluster.

Clusters of Ray 2.5x and later ask for the token `ray start` made (`~/.ray/auth_token`, or RAY_AUTH_TOKEN). A driver
that joins with `auto` sends it; Ray Client (`ray://`) sends it only in token mode, so the probe and the render's
session both turn that mode on where a token is here.
"""

from __future__ import annotations

import logging
import os


def send_ray_token_if_any() -> None:
    """Clusters of Ray 2.5x and later ask for the token `ray start` made (`~/.ray/auth_token`, RAY_AUTH_TOKEN);
    a driver joining with `auto` sends it, Ray Client only in token mode, which this turns on where a token is
    here and RAY_AUTH_MODE does not say otherwise."""
    if os.environ.get("RAY_AUTH_MODE") is not None:
        return
    try:
        from ray._private.authentication import authentication_token_setup as token_setup
    except ImportError:  # a Ray without token authentication
        return
    quiet = logging.getLogger(token_setup.__name__)
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # its note that token mode is on is for a terminal that started a cluster
    try:
        token_setup.maybe_enable_token_auth_if_token_available(warn_if_disabled=False)
    except Exception:  # a token that cannot be read: the join then says what is wrong
        logging.getLogger(__name__).info("could not turn Ray's token authentication on", exc_info=True)
    finally:
        quiet.setLevel(level)
