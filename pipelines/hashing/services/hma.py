"""Client of Meta's Hasher-Matcher-Actioner (HMA): `GET /m/raw_lookup`, then the disabled-content check of each hit.

The parsing helpers read HMA's answers; anything not in the expected shape raises `Unanswered`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from pipelines.hashing.services.config import service_from_config
from pipelines.hashing.services.http_policy import HttpPolicy, non_negative
from pipelines.hashing.services.http_service import DEFAULT_SIGNAL_TYPES, HttpService, json_answer, service_url
from pipelines.hashing.services.results import LookupResult, ServiceMatch, Unanswered, parse_distance


@dataclass(frozen=True)
class _RawHit:
    content_id: int
    distance: int | None
    bank: str | None


@dataclass(frozen=True)
class _ContentState:
    """A bank item's switches as HMA reported them (evaluated at use: a disable may expire)."""

    bank: str | None
    enabled: bool | None  # older `enabled` flag
    disable_until_ts: int | None  # 0 disabled, 1 enabled, else enabled from that Unix time
    bank_enabled: bool

    def active(self, now: float) -> bool:
        if self.enabled is False or not self.bank_enabled:
            return False
        ts = self.disable_until_ts
        if ts is None or ts == 1:
            return True
        return ts != 0 and ts <= now


def _content_id(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise Unanswered(f"raw_lookup: malformed response (content id {str(value)[:40]!r})")


def _parse_raw_lookup(data: Any) -> list[_RawHit]:
    """Both shapes: `{"matches": [123]}` and `{"matches": [{"bank_content_id": 123, "distance": "5"}]}`."""
    if not isinstance(data, dict) or not isinstance(data.get("matches"), list):
        raise Unanswered('raw_lookup: malformed response (expected {"matches": [...]})')
    hits: dict[int, _RawHit] = {}
    for item in data["matches"]:
        if isinstance(item, dict):
            bank = item.get("bank")
            hit = _RawHit(
                _content_id(item.get("bank_content_id")),
                parse_distance(item.get("distance"), "raw_lookup"),
                bank if isinstance(bank, str) and bank else None,
            )
        else:
            hit = _RawHit(_content_id(item), None, None)
        hits.setdefault(hit.content_id, hit)
    return list(hits.values())


def _parse_content(data: Any, content_id: int, bank: str) -> _ContentState:
    """`GET /c/bank/{bank}/content/{id}`: `enabled` and/or `disable_until_ts`, and the item's bank."""
    what = f"content check: malformed response for bank content {content_id}"
    if not isinstance(data, dict):
        raise Unanswered(what)
    if "id" in data and str(data["id"]) != str(content_id):
        raise Unanswered(f"{what} (it describes item {str(data['id'])[:40]!r})")
    enabled = data.get("enabled")
    ts = data.get("disable_until_ts")
    if enabled is not None and not isinstance(enabled, bool):
        raise Unanswered(f"{what} (enabled)")
    if isinstance(ts, str) and ts.isascii() and ts.isdigit():
        ts = int(ts)
    if ts is not None and (not isinstance(ts, int) or isinstance(ts, bool) or ts < 0):
        raise Unanswered(f"{what} (disable_until_ts)")
    if enabled is None and ts is None:
        raise Unanswered(f"{what} (neither enabled nor disable_until_ts)")
    bank_enabled = True
    bank_info = data.get("bank")
    if isinstance(bank_info, str) and bank_info:
        bank = bank_info
    elif isinstance(bank_info, dict):
        if isinstance(bank_info.get("name"), str) and bank_info["name"]:
            bank = bank_info["name"]
        ratio = bank_info.get("matching_enabled_ratio")
        if bank_info.get("enabled") is False or (non_negative(ratio) and ratio == 0):
            bank_enabled = False  # the whole bank is switched off
    return _ContentState(bank, enabled, ts, bank_enabled)


class HmaClient(HttpService):
    """Client of Meta's Hasher-Matcher-Actioner: `GET /m/raw_lookup`, then the disabled-content check.

    `raw_lookup` does not filter bank items switched off as false positives, so every hit is checked with
    `GET /c/bank/{bank}/content/{id}` (cached per client) and disabled ones are dropped. The bank is the one in the
    response, else the single configured bank; with several (or none, then `GET /c/banks`) each is tried in turn.
    If the check cannot be made, the whole result is unchecked.
    """

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        auth_header: str | None = None,
        auth_env: str | None = None,
        banks: Iterable[str] | None = None,
        signal_types: Iterable[str] = DEFAULT_SIGNAL_TYPES,
        policy: HttpPolicy | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(name, signal_types=signal_types, auth_env=auth_env, auth_header=auth_header, policy=policy)
        url = service_url(base_url, f"HMA service {name!r}: url")
        if urlsplit(url).query or urlsplit(url).fragment:
            raise ValueError(f"HMA service {name!r}: url {url!r} must be a base URL without query or fragment")
        self.base_url = url.rstrip("/")
        if isinstance(banks, str):
            raise ValueError(f"HMA service {name!r}: banks must be a list of bank names")
        self.banks = tuple(banks or ())
        if not all(isinstance(bank, str) and bank and "," not in bank for bank in self.banks):
            raise ValueError(f"HMA service {name!r}: bank names must be non-empty and without commas")
        self._wall_clock = wall_clock
        self._content: dict[int, _ContentState] = {}
        self._all_banks: tuple[str, ...] | None = None
        self._cache_lock = threading.Lock()

    def status(self) -> bool:
        """`GET /status`: True for 200 (I-AM-ALIVE); False for 503 (INDEX-STALE), any other answer or none."""
        try:
            response = self._send("GET", f"{self.base_url}/status", "status", retry=False)
        except Unanswered:
            return False
        with response:
            return response.status_code == 200

    def _lookup(self, signal_type: str, signal: str) -> LookupResult:
        params = {"signal": signal, "signal_type": signal_type, "include_distance": "true"}
        if self.banks:
            params["banks"] = ",".join(self.banks)
        response = self._send("GET", f"{self.base_url}/m/raw_lookup", "raw_lookup", params=params)
        hits = _parse_raw_lookup(json_answer(response, "raw_lookup"))
        now = self._wall_clock()
        kept, disabled = [], []
        for hit in hits:
            state = self._content_state(hit)
            found = ServiceMatch(self.name, signal_type, signal, str(hit.content_id), state.bank, hit.distance)
            (kept if state.active(now) else disabled).append(found)
        return LookupResult.answered(tuple(kept), disabled=tuple(disabled), signal_type=signal_type, signal=signal)

    def _content_state(self, hit: _RawHit) -> _ContentState:
        with self._cache_lock:
            cached = self._content.get(hit.content_id)
        if cached is not None:
            return cached
        if hit.bank:
            candidates: tuple[str, ...] = (hit.bank,)
        else:
            candidates = self.banks or self._bank_names()
        for bank in candidates:
            url = f"{self.base_url}/c/bank/{quote(bank, safe='')}/content/{hit.content_id}"
            response = self._send("GET", url, "content check")
            if response.status_code == 404:
                response.close()
                continue
            state = _parse_content(json_answer(response, "content check"), hit.content_id, bank)
            with self._cache_lock:
                self._content[hit.content_id] = state
            return state
        tried = ", ".join(candidates) or "(none)"
        raise Unanswered(f"content check: bank content {hit.content_id} not found in bank(s) {tried}")

    def _bank_names(self) -> tuple[str, ...]:
        """All banks (`GET /c/banks`), once per client: where to look up an item when no bank is configured."""
        with self._cache_lock:
            if self._all_banks is not None:
                return self._all_banks
        response = self._send("GET", f"{self.base_url}/c/banks", "content check (bank list)")
        data = json_answer(response, "content check (bank list)")
        names = (
            [item.get("name") if isinstance(item, dict) else item for item in data] if isinstance(data, list) else None
        )
        if names is None or not all(isinstance(name, str) and name for name in names):
            raise Unanswered("content check (bank list): malformed response")
        with self._cache_lock:
            self._all_banks = tuple(names)
        return self._all_banks

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, policy: HttpPolicy | None = None) -> HmaClient:
        """Build from `{"name", "url", "auth_env", "auth_header", "banks", "signal_types", policy keys}`."""
        return service_from_config(cls, config, "hma", policy, lambda reader: {"banks": reader.strings("banks")})
