"""Ask several hash services about the hashes of one piece of content."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pipelines.hashing.services.results import HashService, LookupResult


def lookup_all(services: Iterable[HashService], signals: Mapping[str, str]) -> list[tuple[str, LookupResult]]:
    """Ask every service that handles a signal's type about it: `(service name, result)`, by signal then service.

    A signal type no service handles gets no entry.
    """
    services = list(services)
    results: list[tuple[str, LookupResult]] = []
    for signal_type, signal in signals.items():
        for service in services:
            if signal_type in service.signal_types:
                results.append((service.name, service.lookup(signal_type, signal)))
    return results
