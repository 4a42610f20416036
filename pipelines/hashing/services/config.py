"""Reading one service's settings from the hash-services config: typed reads and the HTTP policy keys.

Each client's `from_config` goes through `service_from_config`, which reads the settings every HTTP service has
and hands the `ConfigReader` to the client for its own; errors name the service and the key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from pipelines.hashing.services.http_policy import HttpPolicy, positive
from pipelines.hashing.services.http_service import DEFAULT_SIGNAL_TYPES


class ConfigReader:
    """Typed reads from one service's config table; errors name the service and the key."""

    def __init__(self, raw: object, where: str) -> None:
        if not isinstance(raw, Mapping):
            raise ValueError(f"{where}: expected a table of settings, got {type(raw).__name__}")
        self.raw = raw
        self.where = where
        self.used: set[str] = {"kind"}

    def _get(self, key: str, required: bool) -> Any:
        self.used.add(key)
        value = self.raw.get(key)
        if value is None and required:
            raise ValueError(f"{self.where}: '{key}' is required")
        return value

    def fail(self, key: str, expected: str) -> ValueError:
        return ValueError(f"{self.where}: '{key}' must be {expected}")

    def string(self, key: str, *, required: bool = False) -> str | None:
        value = self._get(key, required)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise self.fail(key, "a non-empty string")
        return value

    def strings(self, key: str) -> list[str] | None:
        value = self._get(key, False)
        if value is not None and (
            not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value)
        ):
            raise self.fail(key, "a list of non-empty strings")
        return value

    def table(self, key: str) -> dict[str, Any] | None:
        value = self._get(key, False)
        if value is not None and not isinstance(value, Mapping):
            raise self.fail(key, "a table (object)")
        return dict(value) if value is not None else None

    def number(self, key: str) -> float | None:
        value = self._get(key, False)
        if value is not None and not (isinstance(value, int | float) and not isinstance(value, bool)):
            raise self.fail(key, "a number")
        return value

    def finish(self) -> None:
        unknown = sorted(set(self.raw) - self.used)
        if unknown:
            raise ValueError(f"{self.where}: unknown setting(s) {', '.join(map(repr, unknown))}")

    def build(self, make: Callable[[], Any]) -> Any:
        """Run a constructor, prefixing its ValueError with where the settings came from."""
        try:
            return make()
        except ValueError as error:
            message = str(error)
            raise ValueError(message if message.startswith(self.where) else f"{self.where}: {message}") from None


_POLICY_KEYS = ("retries", "backoff", "retry_after_cap", "rate_limit", "burst", "breaker_threshold", "breaker_cooldown")


def or_default(value: Any, default: Any) -> Any:
    return default if value is None else value


def policy_from_config(reader: ConfigReader, base: HttpPolicy | None) -> HttpPolicy:
    """Policy settings of one service over `base`: `timeout` (seconds, or [connect, read]) and `_POLICY_KEYS`."""
    changes: dict[str, Any] = {}
    timeout = reader._get("timeout", False)
    if timeout is not None:
        if isinstance(timeout, list) and len(timeout) == 2 and all(positive(value) for value in timeout):
            changes["timeout"] = (float(timeout[0]), float(timeout[1]))
        elif positive(timeout):
            changes["timeout"] = (float(timeout), float(timeout))
        else:
            raise reader.fail("timeout", "a positive number of seconds or [connect, read]")
    for key in _POLICY_KEYS:
        value = reader.number(key)
        if value is not None:
            changes[key] = value
    return reader.build(lambda: replace(base or HttpPolicy(), **changes))


def service_from_config(
    make: Callable[..., Any],
    config: Mapping[str, Any],
    kind: str,
    policy: HttpPolicy | None,
    own_settings: Callable[[ConfigReader], dict[str, Any]],
) -> Any:
    """Build a client from its config table: `name`, `url`, `auth_env`, `auth_header`, `signal_types` and the
    policy keys (over `policy`), which every HTTP service has, and the keyword arguments `own_settings` reads.

    Unknown keys and invalid values raise ValueError naming `kind`, the service and the key.
    """
    reader = ConfigReader(config, f"{kind} service")
    name = reader.string("name", required=True)
    reader.where = f"{kind} service {name!r}"
    url = reader.string("url", required=True)
    kwargs = {"auth_env": reader.string("auth_env"), "auth_header": reader.string("auth_header")}
    kwargs.update(own_settings(reader))
    kwargs["signal_types"] = or_default(reader.strings("signal_types"), DEFAULT_SIGNAL_TYPES)
    built_policy = policy_from_config(reader, policy)
    reader.finish()
    return reader.build(lambda: make(name, url, policy=built_policy, **kwargs))
