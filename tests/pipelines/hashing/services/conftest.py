"""Fixtures for the hash-service tests: a fake clock, a fake HMA, and local servers started on demand."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.pipelines.hashing.services.fakes import FakeClock, FakeHma, LocalServer, Recorded, Reply


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def hma() -> Iterator[FakeHma]:
    fake = FakeHma()
    yield fake
    fake.server.close()


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[Recorded], Reply]], LocalServer]]:
    servers: list[LocalServer] = []

    def start(respond: Callable[[Recorded], Reply]) -> LocalServer:
        servers.append(LocalServer(respond))
        return servers[-1]

    yield start
    for server in servers:
        server.close()
