"""Whether this process reaches the Hugging Face Hub, asked once: models and Hub datasets both need to know,
and huggingface_hub itself spends a minute of retries before it says no."""
from __future__ import annotations

import functools
import os

HUB_TIMEOUT_S = 3.0  # one connection to the Hub's endpoint; huggingface_hub's retries take a minute offline


@functools.cache
def hub_unreachable() -> str | None:
    """Why this process cannot reach the Hub, from one connection of at most HUB_TIMEOUT_S to its endpoint
    ($HF_ENDPOINT); None where it can, or where a proxy is set (the route is the proxy's). Where it cannot, models
    load from the Hub cache alone, as under HF_HUB_OFFLINE=1, and a Hub dataset stops in one line."""
    import socket
    from urllib.parse import urlsplit

    if any(os.environ.get(name) for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return None
    endpoint = urlsplit(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    address = (endpoint.hostname or "", endpoint.port or (443 if endpoint.scheme == "https" else 80))
    try:
        socket.create_connection(address, timeout=HUB_TIMEOUT_S).close()
    except OSError as err:
        return f"{address[0]}:{address[1]}: {err.strerror or type(err).__name__}"
    return None
