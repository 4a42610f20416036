"""A configurable JSON hash service: the hash goes into a request template, matches come back at a dotted path."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from pipelines.hashing.services.config import ConfigReader, service_from_config
from pipelines.hashing.services.http_policy import HttpPolicy
from pipelines.hashing.services.http_service import (
    DEFAULT_SIGNAL_TYPES,
    MESSAGE_LIMIT,
    HttpService,
    json_answer,
    service_url,
)
from pipelines.hashing.services.results import LookupResult, ServiceMatch, Unanswered, parse_distance

MATCH_FIELDS = ("content_id", "bank", "distance")
_PLACEHOLDER = re.compile(r"\{(signal|signal_type)\}")


def _resolve(data: Any, path: str) -> Any:
    """Follow a dotted path through objects (and lists, by index); `_MISSING` when it does not lead anywhere."""
    for key in path.split(".") if path else ():
        if isinstance(data, dict) and key in data:
            data = data[key]
        elif isinstance(data, list) and key.isdigit() and int(key) < len(data):
            data = data[int(key)]
        else:
            return _MISSING
    return data


_MISSING = object()


def _fill(template: Any, signal_type: str, signal: str) -> Any:
    """The template with `{signal}` and `{signal_type}` substituted in every string (keys stay as they are)."""
    if isinstance(template, str):
        values = {"signal": signal, "signal_type": signal_type}
        return _PLACEHOLDER.sub(lambda found: values[found.group(1)], template)
    if isinstance(template, dict):
        return {key: _fill(value, signal_type, signal) for key, value in template.items()}
    if isinstance(template, list):
        return [_fill(value, signal_type, signal) for value in template]
    return template


def _mentions_signal(template: Any) -> bool:
    if isinstance(template, str):
        return "{signal}" in template
    if isinstance(template, dict):
        return any(_mentions_signal(value) for value in template.values())
    if isinstance(template, list):
        return any(_mentions_signal(value) for value in template)
    return False


class JsonService(HttpService):
    """A configurable JSON API: the hash goes into a request template, matches come back at a dotted path.

    `request_template` is the JSON body (POST) or the query parameters (GET); `matches_path` leads to the list of
    matches, and `match_fields` maps `content_id`, `bank`, `distance` to dotted paths inside each item (a bare
    string or number item is its own content id). An empty list is no_match. The list may be absent only where
    the response is otherwise well-formed: its last key missing from an object that is there, or anything missing
    once `ok_path` (when set) has been seen to hold `ok_value`. Anything else is unchecked.
    """

    def __init__(
        self,
        name: str,
        url: str,
        *,
        method: str = "POST",
        auth_env: str | None = None,
        auth_header: str | None = None,
        request_template: Mapping[str, Any] | None = None,
        matches_path: str = "matches",
        match_fields: Mapping[str, str] | None = None,
        ok_path: str | None = None,
        ok_value: Any = True,
        signal_types: Iterable[str] = DEFAULT_SIGNAL_TYPES,
        policy: HttpPolicy | None = None,
    ) -> None:
        super().__init__(name, signal_types=signal_types, auth_env=auth_env, auth_header=auth_header, policy=policy)
        where = f"json service {name!r}"
        self.url = service_url(url, f"{where}: url")
        self.method = method.upper() if isinstance(method, str) else method
        if self.method not in ("GET", "POST"):
            raise ValueError(f"{where}: method must be GET or POST, not {method!r}")
        template = (
            dict(request_template)
            if request_template is not None
            else {"signal": "{signal}", "signal_type": "{signal_type}"}
        )
        if not _mentions_signal(template):
            raise ValueError(f"{where}: request_template must contain the placeholder {{signal}}")
        if self.method == "GET" and not all(isinstance(value, str | int | float) for value in template.values()):
            raise ValueError(f"{where}: a GET request_template holds query parameters: strings or numbers only")
        self.request_template = template
        if not isinstance(matches_path, str) or not matches_path or "" in matches_path.split("."):
            raise ValueError(f"{where}: matches_path must be a dotted path such as 'result.matches'")
        self.matches_path = matches_path
        fields = dict(match_fields or {})
        unknown = sorted(set(fields) - set(MATCH_FIELDS))
        if unknown:
            raise ValueError(
                f"{where}: match_fields: unknown field(s) {', '.join(unknown)} (use {', '.join(MATCH_FIELDS)})"
            )
        if not all(isinstance(path, str) and path for path in fields.values()):
            raise ValueError(f"{where}: match_fields values must be dotted paths")
        self.match_fields = fields
        if ok_path is not None and (not isinstance(ok_path, str) or not ok_path):
            raise ValueError(f"{where}: ok_path must be a dotted path")
        self.ok_path = ok_path
        self.ok_value = ok_value

    def _lookup(self, signal_type: str, signal: str) -> LookupResult:
        filled = _fill(self.request_template, signal_type, signal)
        if self.method == "GET":
            response = self._send("GET", self.url, "lookup", params=filled)
        else:
            response = self._send("POST", self.url, "lookup", body=filled)
        data = json_answer(response, "lookup")
        if not isinstance(data, dict):
            raise Unanswered("lookup: malformed response (not a JSON object)")
        confirmed = False
        if self.ok_path is not None:
            flag = _resolve(data, self.ok_path)
            if flag is _MISSING or flag != self.ok_value:
                shown = "missing" if flag is _MISSING else json.dumps(flag)[:MESSAGE_LIMIT]
                raise Unanswered(f"lookup: response not ok ({self.ok_path} is {shown})")
            confirmed = True
        items = _resolve(data, self.matches_path)
        if items is _MISSING:
            parent = _resolve(data, self.matches_path.rpartition(".")[0])
            if not confirmed and not isinstance(parent, dict):
                raise Unanswered(f"lookup: malformed response (no {self.matches_path})")
            items = []
        if items is None:
            items = []
        if not isinstance(items, list):
            raise Unanswered(f"lookup: malformed response ({self.matches_path} is not a list)")
        matches = tuple(self._match(item, signal_type, signal) for item in items)
        return LookupResult.answered(matches, signal_type=signal_type, signal=signal)

    def _match(self, item: Any, signal_type: str, signal: str) -> ServiceMatch:
        if isinstance(item, str | int) and not isinstance(item, bool) and "content_id" not in self.match_fields:
            return ServiceMatch(self.name, signal_type, signal, str(item), None, None)
        if not isinstance(item, dict):
            raise Unanswered("lookup: malformed response (a match is not an object)")
        values: dict[str, Any] = {}
        for field_name in MATCH_FIELDS:
            path = self.match_fields.get(field_name)
            value = _resolve(item, path) if path else None
            values[field_name] = None if value is _MISSING else value
        distance = values["distance"]
        if distance is not None:
            try:
                distance = parse_distance(distance, "lookup")
            except Unanswered:
                raise Unanswered("lookup: malformed response (distance)") from None
        content_id, bank = values["content_id"], values["bank"]
        return ServiceMatch(
            self.name,
            signal_type,
            signal,
            None if content_id is None else str(content_id),
            None if bank is None else str(bank),
            distance,
        )

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, policy: HttpPolicy | None = None) -> JsonService:
        """Build from `{"name", "url", "method", "request_template", "matches_path", "match_fields", ...}`."""
        return service_from_config(cls, config, "json", policy, _own_settings)


def _own_settings(reader: ConfigReader) -> dict[str, Any]:
    """The keyword arguments of `JsonService` that only it has, from its config table."""
    settings: dict[str, Any] = {
        "method": reader.string("method") or "POST",
        "request_template": reader.table("request_template"),
        "matches_path": reader.string("matches_path") or "matches",
        "match_fields": reader.table("match_fields"),
        "ok_path": reader.string("ok_path"),
    }
    if "ok_value" in reader.raw:
        reader.used.add("ok_value")
        settings["ok_value"] = reader.raw["ok_value"]
    return settings
