"""What a hash service answers: `match`, `no_match` or `unchecked` (with the reason), and the hits behind a match.

`Unanswered` is how a client gives up on a lookup; the shared base turns it into an unchecked result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

MATCH = "match"
NO_MATCH = "no_match"
UNCHECKED = "unchecked"
UNSUPPORTED = "unsupported signal type"
CIRCUIT_OPEN = "circuit open"


@dataclass(frozen=True)
class ServiceMatch:
    """One hit: the service that knows the hash and, when it says, the bank item and the distance."""

    service: str
    signal_type: str  # md5, sha1, sha256, pdq
    signal: str  # the hash looked up
    content_id: str | None  # e.g. HMA bank_content_id
    bank: str | None
    distance: int | None  # for pdq


@dataclass(frozen=True)
class LookupResult:
    """One service's answer about one hash; `error` says why it is unchecked.

    `disabled` holds hits the service returned for bank items switched off as false positives (never a match);
    `signal_type` and `signal` say which hash was asked about, also when nothing matched.
    """

    status: str  # "match", "no_match", "unchecked"
    matches: tuple[ServiceMatch, ...] = ()
    error: str | None = None
    disabled: tuple[ServiceMatch, ...] = ()
    signal_type: str | None = None
    signal: str | None = None

    def __post_init__(self) -> None:
        if self.status not in (MATCH, NO_MATCH, UNCHECKED):
            raise ValueError(f"unknown lookup status {self.status!r}")
        if (self.status == MATCH) != bool(self.matches):
            raise ValueError("a lookup result has matches exactly when its status is 'match'")
        if self.status == UNCHECKED and not self.error:
            raise ValueError("an unchecked lookup result needs the reason in `error`")

    @classmethod
    def answered(
        cls,
        matches: tuple[ServiceMatch, ...],
        *,
        signal_type: str,
        signal: str,
        disabled: tuple[ServiceMatch, ...] = (),
    ) -> LookupResult:
        """A service's answer: `match` with its hits, else `no_match` (`disabled` hits never make a match)."""
        return cls(MATCH if matches else NO_MATCH, matches, disabled=disabled, signal_type=signal_type, signal=signal)


@runtime_checkable
class HashService(Protocol):
    """A service that says whether a hash is known."""

    name: str
    signal_types: frozenset[str]

    def lookup(self, signal_type: str, signal: str) -> LookupResult: ...


class Unanswered(Exception):
    """The lookup has no answer. `failure`: counts against the service's circuit breaker."""

    def __init__(self, reason: str, *, failure: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.failure = failure


def parse_distance(value: object, what: str) -> int | None:
    """A match's distance, which HMA sends as a string; a non-integral one (other signal types) is kept as None.

    `what` names the request in the error (e.g. `raw_lookup`).
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise Unanswered(f"{what}: malformed response (distance)")
    if isinstance(value, int):
        return value
    try:
        number = float(value) if isinstance(value, str | float) else None
    except ValueError:
        number = None
    if number is None or number != number:
        raise Unanswered(f"{what}: malformed response (distance {str(value)[:40]!r})")
    return int(number) if number.is_integer() else None
