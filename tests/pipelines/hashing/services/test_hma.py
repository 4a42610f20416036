"""HmaClient against a fake HMA on 127.0.0.1: match shapes, the disabled-content check, banks, parsing."""

from __future__ import annotations

import pytest

from pipelines.hashing.services.results import MATCH, NO_MATCH, UNCHECKED, HashService, LookupResult, ServiceMatch
from tests.pipelines.hashing.services.fakes import HIT, HIT_TWO, MISS, NOW, PDQ_HIT, Reply, hma_client


def test_match_with_distance_parsed(hma, clock):
    hma.add(42, PDQ_HIT, signal_type="pdq", distance=5)
    client = hma_client(hma, clock)
    result = client.lookup("pdq", PDQ_HIT)
    assert result == LookupResult(
        MATCH, (ServiceMatch("hma-test", "pdq", PDQ_HIT, "42", "SYNTH_A", 5),), signal_type="pdq", signal=PDQ_HIT
    )
    lookup = hma.server.requests[0]
    assert lookup.path == "/m/raw_lookup"
    assert lookup.params == {"signal": PDQ_HIT, "signal_type": "pdq", "include_distance": "true", "banks": "SYNTH_A"}
    assert hma.paths() == ["/m/raw_lookup", "/c/bank/SYNTH_A/content/42"]
    assert isinstance(client, HashService)


def test_plain_id_shape_parsed(hma, clock):
    hma.ids_only = True
    hma.add(7, HIT)
    result = hma_client(hma, clock).lookup("sha256", HIT)
    assert result.status == MATCH
    assert [(found.content_id, found.bank, found.distance) for found in result.matches] == [("7", "SYNTH_A", None)]


def test_no_match(hma, clock):
    hma.add(7, HIT)
    result = hma_client(hma, clock).lookup("sha256", MISS)
    assert (result.status, result.matches, result.error) == (NO_MATCH, (), None)
    assert hma.paths() == ["/m/raw_lookup"]  # nothing to check


@pytest.mark.parametrize(
    ("state", "active"),
    [
        ({"disable_until_ts": 0}, False),
        ({"disable_until_ts": int(NOW) + 3600}, False),  # disabled until a future time
        ({"disable_until_ts": int(NOW) - 3600}, True),  # that time has passed
        ({"disable_until_ts": 1}, True),
        ({"disable_until_ts": None, "enabled": False}, False),  # older servers: an `enabled` flag
        ({"disable_until_ts": None, "enabled": True}, True),
    ],
)
def test_disabled_content_is_dropped(hma, clock, state, active):
    hma.add(9, HIT, **state)
    result = hma_client(hma, clock).lookup("sha256", HIT)
    if active:
        assert result.status == MATCH and [found.content_id for found in result.matches] == ["9"]
    else:
        assert (result.status, result.matches) == (NO_MATCH, ())
        assert [(found.content_id, found.bank) for found in result.disabled] == [("9", "SYNTH_A")]


def test_mix_of_disabled_and_enabled_keeps_the_enabled_one_and_caches_the_checks(hma, clock):
    hma.add(11, HIT, disable_until_ts=0)
    hma.add(12, HIT, distance=3)
    client = hma_client(hma, clock)
    first = client.lookup("sha256", HIT)
    assert first.status == MATCH
    assert [(found.content_id, found.distance) for found in first.matches] == [("12", 3)]
    assert [found.content_id for found in first.disabled] == ["11"]
    assert client.lookup("sha256", HIT) == first
    assert hma.paths("/m/") == ["/m/raw_lookup"] * 2
    assert sorted(hma.paths("/c/")) == ["/c/bank/SYNTH_A/content/11", "/c/bank/SYNTH_A/content/12"]  # once each


def test_item_in_a_switched_off_bank_is_dropped(hma, clock):
    hma.banks["SYNTH_B"] = 0.0
    hma.add(5, HIT, bank="SYNTH_B")
    result = hma_client(hma, clock, banks=["SYNTH_B"]).lookup("sha256", HIT)
    assert result.status == NO_MATCH and [found.bank for found in result.disabled] == ["SYNTH_B"]


def test_several_banks_are_tried_in_turn(hma, clock):
    hma.add(21, HIT, bank="SYNTH_B")
    result = hma_client(hma, clock, banks=["SYNTH_A", "SYNTH_B"]).lookup("sha256", HIT)
    assert [(found.content_id, found.bank) for found in result.matches] == [("21", "SYNTH_B")]
    assert hma.server.requests[0].params["banks"] == "SYNTH_A,SYNTH_B"
    assert hma.paths("/c/") == ["/c/bank/SYNTH_A/content/21", "/c/bank/SYNTH_B/content/21"]


def test_without_configured_banks_the_bank_list_is_fetched_once(hma, clock):
    hma.add(31, HIT, bank="SYNTH_B")
    hma.add(32, HIT_TWO, bank="SYNTH_A")
    client = hma_client(hma, clock, banks=None)
    assert client.lookup("sha256", HIT).matches[0].bank == "SYNTH_B"
    assert client.lookup("sha256", HIT_TWO).matches[0].bank == "SYNTH_A"
    assert "banks" not in hma.server.requests[0].params
    assert hma.paths("/c/banks") == ["/c/banks"]


def test_bank_named_in_the_response_is_used(hma, clock):
    hma.add(41, HIT, bank="SYNTH_B")
    hma.lookup_replies = [Reply(200, {"matches": [{"bank_content_id": 41, "distance": "0", "bank": "SYNTH_B"}]})]
    result = hma_client(hma, clock, banks=None).lookup("sha256", HIT)
    assert result.matches[0].bank == "SYNTH_B"
    assert hma.paths("/c/") == ["/c/bank/SYNTH_B/content/41"]


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (Reply(503, {"message": "unavailable"}), "content check: HTTP 503 after 2 attempts"),
        (
            Reply(403, {"message": "ROLE_CURATOR is not enabled"}),
            "content check: HTTP 403 (ROLE_CURATOR is not enabled)",
        ),
        (Reply(200, {"id": 51, "collab_metadata": {}}), "content check: malformed response"),
        (Reply(200, b"<html>proxy error</html>"), "content check: malformed response (not JSON)"),
    ],
)
def test_content_check_failing_makes_the_result_unchecked(hma, clock, failure, reason):
    hma.add(51, HIT)
    hma.add(52, HIT)
    hma.fail_content = failure
    result = hma_client(hma, clock, retries=1).lookup("sha256", HIT)
    assert result.status == UNCHECKED and result.matches == ()
    assert result.error.startswith(reason)


def test_content_not_found_in_any_bank_is_unchecked(hma, clock):
    hma.lookup_replies = [Reply(200, {"matches": [{"bank_content_id": 404404, "distance": "0"}]})]
    result = hma_client(hma, clock, banks=["SYNTH_A", "SYNTH_B"]).lookup("sha256", HIT)
    assert result.status == UNCHECKED
    assert result.error == "content check: bank content 404404 not found in bank(s) SYNTH_A, SYNTH_B"


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, b"{not json"),
        Reply(200, "<html>captive portal</html>"),
        Reply(200, [1, 2]),
        Reply(200, {}),
        Reply(200, {"matches": "none"}),
        Reply(200, {"matches": [{"bank_content_id": "abc"}]}),
        Reply(200, {"matches": [{"distance": "1"}]}),
        Reply(200, {"matches": [{"bank_content_id": 5, "distance": "far"}]}),
        Reply(200, {"matches": [True]}),
    ],
)
def test_malformed_json_is_unchecked(hma, clock, reply):
    hma.lookup_replies = [reply]
    result = hma_client(hma, clock).lookup("sha256", HIT)
    assert result.status == UNCHECKED
    assert result.error.startswith("raw_lookup: malformed response")


def test_status(hma, clock):
    client = hma_client(hma, clock, retries=2)
    assert client.status() is True
    hma.stale = True
    assert client.status() is False
    assert hma.paths() == ["/status", "/status"]  # INDEX-STALE is an answer, not retried
