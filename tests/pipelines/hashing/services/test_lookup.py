"""lookup_all: which services are asked about which signals."""

from __future__ import annotations

from pipelines.hashing.services import lookup_all
from tests.pipelines.hashing.services.fakes import HIT, hma_client


def test_lookup_all_skips_services_without_the_signal_type(hma, clock):
    narrow = hma_client(hma, clock, signal_types=["pdq"])
    assert lookup_all([narrow], {"sha256": HIT}) == []
    assert hma.server.requests == []
