"""Every REST endpoint, gathered from the area modules (each exposes ENDPOINTS)."""
from __future__ import annotations

from protocol.rest.core import Endpoint

AREAS: tuple[str, ...] = (
    "email_subscriptions",
    "account",
    "senders",
    "campaigns",
    "webhooks",
)


def all_endpoints() -> list[Endpoint]:
    import importlib

    endpoints: list[Endpoint] = []
    for area in AREAS:
        endpoints.extend(importlib.import_module(f"protocol.rest.{area}").ENDPOINTS)
    seen: set[tuple[str, str]] = set()
    for endpoint in endpoints:
        key = (endpoint.method, endpoint.path)
        if key in seen:
            raise RuntimeError(f"two REST endpoints answer {endpoint.method} {endpoint.path}")
        seen.add(key)
    return endpoints
