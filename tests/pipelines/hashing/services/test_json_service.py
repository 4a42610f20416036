"""JsonService against local servers: request templates, dotted paths, ok_path, failures."""

from __future__ import annotations

import pytest

from pipelines.hashing.services.json_service import JsonService
from pipelines.hashing.services.results import MATCH, NO_MATCH, UNCHECKED, UNSUPPORTED, ServiceMatch
from tests.pipelines.hashing.services.fakes import HIT, MD5_HIT, MISS, Recorded, Reply, policy, synthetic


def test_json_service_post_with_body_template_and_nested_paths(serve, clock):
    def respond(request: Recorded) -> Reply:
        found = request.body["query"]["hash"] == HIT
        matches = [{"ref": {"id": "item-1", "list": "synthetic-list"}, "score": {"distance": "3"}}] if found else []
        return Reply(200, {"result": {"ok": True, "data": {"matches": matches}}})

    server = serve(respond)
    service = JsonService(
        "json-test",
        server.url + "/v1/lookup",
        request_template={"query": {"hash": "{signal}", "tags": ["type:{signal_type}"]}, "client": "linksweep"},
        matches_path="result.data.matches",
        match_fields={"content_id": "ref.id", "bank": "ref.list", "distance": "score.distance"},
        ok_path="result.ok",
        policy=policy(clock),
    )
    result = service.lookup("sha256", HIT)
    assert result.matches == (ServiceMatch("json-test", "sha256", HIT, "item-1", "synthetic-list", 3),)
    assert service.lookup("sha256", MISS).status == NO_MATCH
    request = server.requests[0]
    assert (request.method, request.path, request.headers["content-type"]) == ("POST", "/v1/lookup", "application/json")
    assert request.body == {"query": {"hash": HIT, "tags": ["type:sha256"]}, "client": "linksweep"}


def test_json_service_get_variant(serve, clock, monkeypatch):
    monkeypatch.setenv("SYNTHETIC_JSON_KEY", "Token synthetic-token-2")

    def respond(request: Recorded) -> Reply:
        return Reply(200, {"hits": ["id-1", 2] if request.params["h"] == MD5_HIT else []})

    server = serve(respond)
    service = JsonService(
        "json-get",
        server.url + "/check",
        method="GET",
        auth_env="SYNTHETIC_JSON_KEY",
        request_template={"h": "{signal}", "t": "{signal_type}", "v": 2},
        matches_path="hits",
        signal_types=["md5"],
        policy=policy(clock),
    )
    result = service.lookup("md5", MD5_HIT)
    assert [found.content_id for found in result.matches] == ["id-1", "2"]
    assert service.lookup("md5", synthetic("md5-miss", "md5")).status == NO_MATCH
    assert service.lookup("sha256", HIT).error == UNSUPPORTED
    request = server.requests[0]
    assert (request.method, request.params, request.body) == ("GET", {"h": MD5_HIT, "t": "md5", "v": "2"}, None)
    assert request.headers["authorization"] == "Token synthetic-token-2"
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({"result": {"matches": []}}, NO_MATCH, None),
        ({"result": {"matches": None}}, NO_MATCH, None),
        ({"result": {}}, NO_MATCH, None),  # the API leaves out an empty list
        ({}, UNCHECKED, "lookup: malformed response (no result.matches)"),
        ({"error": "quota exceeded"}, UNCHECKED, "lookup: malformed response (no result.matches)"),
        ({"result": "busy"}, UNCHECKED, "lookup: malformed response (no result.matches)"),
        ({"result": {"matches": "none"}}, UNCHECKED, "lookup: malformed response (result.matches is not a list)"),
        ([], UNCHECKED, "lookup: malformed response (not a JSON object)"),
        (b"not json", UNCHECKED, "lookup: malformed response (not JSON)"),
        ({"result": {"matches": [["nested"]]}}, UNCHECKED, "lookup: malformed response (a match is not an object)"),
    ],
)
def test_json_service_needs_a_well_formed_answer(serve, clock, body, status, reason):
    server = serve(lambda request: Reply(200, body))
    service = JsonService("json-shape", server.url, matches_path="result.matches", policy=policy(clock))
    result = service.lookup("sha256", HIT)
    assert (result.status, result.error) == (status, reason)


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({"status": "ok"}, NO_MATCH, None),  # ok confirmed: the absent list means nothing matched
        ({"status": "ok", "data": {"matches": [{"id": 5}]}}, MATCH, None),
        ({"status": "error", "data": {"matches": []}}, UNCHECKED, 'lookup: response not ok (status is "error")'),
        ({"data": {"matches": []}}, UNCHECKED, "lookup: response not ok (status is missing)"),
    ],
)
def test_json_service_ok_path(serve, clock, body, status, reason):
    server = serve(lambda request: Reply(200, body))
    service = JsonService(
        "json-ok",
        server.url,
        matches_path="data.matches",
        match_fields={"content_id": "id"},
        ok_path="status",
        ok_value="ok",
        policy=policy(clock),
    )
    result = service.lookup("sha256", HIT)
    assert (result.status, result.error) == (status, reason)


def test_json_service_failures_are_unchecked(serve, clock):
    replies = [Reply(503), Reply(503), Reply(500, {"message": "boom"}), Reply(404)]
    server = serve(lambda request: replies.pop(0))
    service = JsonService("json-fail", server.url, policy=policy(clock, retries=1))
    assert service.lookup("sha256", HIT).error == "lookup: HTTP 503 after 2 attempts"
    assert service.lookup("sha256", HIT).error == "lookup: HTTP 500 (boom)"
    assert service.lookup("sha256", HIT).error == "lookup: HTTP 404"
    assert len(server.requests) == 4 and clock.sleeps == [0.5]
