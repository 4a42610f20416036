"""LookupResult's invariants."""

from __future__ import annotations

import pytest

from pipelines.hashing.services.results import MATCH, UNCHECKED, LookupResult


def test_lookup_result_invariants():
    with pytest.raises(ValueError):
        LookupResult(UNCHECKED)  # an unchecked result always says why
    with pytest.raises(ValueError):
        LookupResult(MATCH)
    with pytest.raises(ValueError):
        LookupResult("clean")
