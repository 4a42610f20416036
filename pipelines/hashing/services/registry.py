"""The hash services a config names, built through `SERVICE_KINDS`: the config's `kind` -> the client's builder.

A new kind of service is one module in this folder (an `HttpService` subclass with a `from_config` classmethod)
plus its entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pipelines.hashing.services.hma import HmaClient
from pipelines.hashing.services.http_policy import HttpPolicy
from pipelines.hashing.services.json_service import JsonService
from pipelines.hashing.services.results import HashService

SERVICE_KINDS: dict[str, Callable[..., HashService]] = {
    "hma": HmaClient.from_config,
    "json": JsonService.from_config,
}


def services_from_config(config: Mapping[str, Any], *, policy: HttpPolicy | None = None) -> list[HashService]:
    """The services of `{"services": [{"kind": "hma" | "json", "name": ..., ...}, ...]}`; ValueError if invalid.

    `policy` is the base each service's own settings (timeout, retries, rate_limit, ...) are applied over.
    """
    if not isinstance(config, Mapping):
        raise ValueError(f"hash services config: expected a table, got {type(config).__name__}")
    entries = config.get("services")
    if not isinstance(entries, list):
        raise ValueError("hash services config: 'services' must be a list of service tables")
    services: list[HashService] = []
    names: set[str] = set()
    for index, entry in enumerate(entries):
        where = f"services[{index}]"
        if not isinstance(entry, Mapping):
            raise ValueError(f"{where}: expected a table of settings, got {type(entry).__name__}")
        kind = entry.get("kind")
        if kind not in SERVICE_KINDS:
            raise ValueError(f"{where}: 'kind' must be one of {', '.join(map(repr, SERVICE_KINDS))}, not {kind!r}")
        try:
            service = SERVICE_KINDS[kind](entry, policy=policy)
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from None
        if service.name in names:
            raise ValueError(f"{where}: duplicate service name {service.name!r}")
        names.add(service.name)
        services.append(service)
    return services
