"""Hash-lookup services: ask Meta's Hasher-Matcher-Actioner (HMA) or a generic JSON API whether a hash is known.

The crawler hashes fetched content locally; only hashes leave the machine. Every answer is `match`, `no_match` or
`unchecked`. A service that is down, times out, keeps answering 5xx/429, sends something that is not the expected
JSON, or whose circuit breaker is open gives `unchecked` with the reason -- never `no_match`.

Modules, lowest first: `results` (answers), `http_policy`, `rate_limit`, `breaker`, `http_service` (the base every
client shares), `config` (reading a service's settings), the clients `hma` and `json_service`, `registry`
(`services_from_config`, keyed by the config's `kind`) and `lookup` (`lookup_all`).
"""

from pipelines.hashing.services.lookup import lookup_all
from pipelines.hashing.services.registry import services_from_config

__all__ = ["lookup_all", "services_from_config"]
