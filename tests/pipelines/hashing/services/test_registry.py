"""services_from_config: building each kind from its config table, and errors that name the problem."""

from __future__ import annotations

import pytest

from pipelines.hashing.services import lookup_all, services_from_config
from pipelines.hashing.services.hma import HmaClient
from pipelines.hashing.services.json_service import JsonService
from pipelines.hashing.services.results import MATCH, NO_MATCH
from tests.pipelines.hashing.services.fakes import HIT, MD5_HIT, Reply, policy


def test_services_from_config_and_lookup_all(hma, serve, clock, monkeypatch):
    monkeypatch.setenv("SYNTHETIC_HMA_KEY", "X-Api-Key: synthetic-key-3")
    hma.api_key = ("X-Api-Key", "synthetic-key-3")
    hma.add(101, HIT)
    hma.add(102, MD5_HIT, signal_type="md5", disable_until_ts=0)
    server = serve(lambda request: Reply(200, {"result": {"matches": [{"n": 1}]}}))
    config = {
        "services": [
            {
                "kind": "hma",
                "name": "hma-local",
                "url": hma.url + "/",
                "auth_env": "SYNTHETIC_HMA_KEY",
                "banks": ["SYNTH_A"],
                "timeout": [1, 3],
                "retries": 1,
                "rate_limit": 100,
            },
            {
                "kind": "json",
                "name": "json-local",
                "url": server.url + "/lookup",
                "method": "get",
                "request_template": {"sha256": "{signal}"},
                "matches_path": "result.matches",
                "match_fields": {"content_id": "n"},
                "signal_types": ["sha256"],
                "breaker_threshold": 2,
            },
        ]
    }
    services = services_from_config(config, policy=policy(clock))
    assert [type(service) for service in services] == [HmaClient, JsonService]
    hma_service, json_service = services
    assert (hma_service.name, hma_service.base_url, hma_service.banks) == ("hma-local", hma.url, ("SYNTH_A",))
    assert (hma_service.policy.timeout, hma_service.policy.retries, hma_service.policy.rate_limit) == ((1, 3), 1, 100)
    assert (json_service.method, json_service.signal_types, json_service.policy.breaker_threshold) == (
        "GET",
        frozenset({"sha256"}),
        2,
    )
    results = lookup_all(services, {"sha256": HIT, "md5": MD5_HIT, "tlsh": "T1" + "0" * 70})
    assert [(name, result.signal_type, result.status) for name, result in results] == [
        ("hma-local", "sha256", MATCH),
        ("json-local", "sha256", MATCH),
        ("hma-local", "md5", NO_MATCH),  # its only hit is a disabled item
    ]
    assert results[1][1].matches[0].content_id == "1"
    assert server.requests[0].params == {"sha256": HIT}


def test_from_config_on_each_class(hma):
    client = HmaClient.from_config({"name": "h", "url": hma.url, "signal_types": ["pdq"], "timeout": 4})
    assert (client.signal_types, client.policy.timeout, client.banks) == (frozenset({"pdq"}), (4.0, 4.0), ())
    service = JsonService.from_config({"name": "j", "url": "https://lookup.example.org/v1", "ok_value": "yes"})
    assert (service.method, service.matches_path, service.ok_value) == ("POST", "matches", "yes")


HMA_URL = "https://hma.example.org"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "'services' must be a list"),
        ({"services": {"kind": "hma"}}, "'services' must be a list"),
        ({"services": ["hma"]}, "services[0]: expected a table"),
        ({"services": [{"name": "a", "url": HMA_URL}]}, "services[0]: 'kind' must be one of 'hma', 'json'"),
        ({"services": [{"kind": "ftp", "name": "a", "url": HMA_URL}]}, "'kind' must be one of"),
        ({"services": [{"kind": "hma", "name": "a"}]}, "services[0]: hma service 'a': 'url' is required"),
        ({"services": [{"kind": "hma", "url": HMA_URL}]}, "services[0]: hma service: 'name' is required"),
        ({"services": [{"kind": "hma", "name": "a", "url": "ftp://hma.test/"}]}, "is not an http(s) URL"),
        ({"services": [{"kind": "hma", "name": "a", "url": "http://hma.example.org"}]}, "plain HTTP is allowed"),
        ({"services": [{"kind": "hma", "name": "a", "url": HMA_URL, "banks": "SYNTH_A"}]}, "'banks' must be a list"),
        ({"services": [{"kind": "hma", "name": "a", "url": HMA_URL, "banks": ["A,B"]}]}, "without commas"),
        ({"services": [{"kind": "hma", "name": "a", "url": HMA_URL, "bankz": []}]}, "unknown setting(s) 'bankz'"),
        ({"services": [{"kind": "hma", "name": "a", "url": HMA_URL, "timeout": -1}]}, "'timeout' must be"),
        ({"services": [{"kind": "hma", "name": "a", "url": HMA_URL, "retries": 1.5}]}, "retries must be a whole"),
        ({"services": [{"kind": "hma", "name": "a", "url": HMA_URL, "signal_types": []}]}, "signal_types must be"),
        ({"services": [{"kind": "hma", "name": "a", "url": HMA_URL, "auth_header": "X-Key"}]}, "auth_env must name"),
        ({"services": [{"kind": "hma", "name": "a", "url": HMA_URL, "auth_header": "X Key"}]}, "not an HTTP header"),
        (
            {"services": [{"kind": "json", "name": "j", "url": HMA_URL, "request_template": {"q": "{signal_type}"}}]},
            "json service 'j': request_template must contain the placeholder {signal}",
        ),
        (
            {"services": [{"kind": "json", "name": "j", "url": HMA_URL, "method": "DELETE"}]},
            "method must be GET or POST",
        ),
        (
            {"services": [{"kind": "json", "name": "j", "url": HMA_URL, "match_fields": {"score": "s"}}]},
            "match_fields: unknown field(s) score",
        ),
        (
            {
                "services": [
                    {
                        "kind": "json",
                        "name": "j",
                        "url": HMA_URL,
                        "method": "GET",
                        "request_template": {"q": {"h": "{signal}"}},
                    }
                ]
            },
            "query parameters",
        ),
        ({"services": [{"kind": "json", "name": "j", "url": HMA_URL, "matches_path": "a..b"}]}, "matches_path must be"),
        (
            {"services": [{"kind": "hma", "name": "a", "url": HMA_URL}, {"kind": "json", "name": "a", "url": HMA_URL}]},
            "services[1]: duplicate service name 'a'",
        ),
    ],
)
def test_config_errors_name_the_problem(config, message):
    with pytest.raises(ValueError) as raised:
        services_from_config(config)
    assert message in str(raised.value)
