"""Arrow compute kernels called by name, without importing pyarrow.compute.

pyarrow.compute wraps each of Arrow's ~300 kernels in a Python function whose docstring it builds by parsing the
documentation of its options class: importing it is slow, paid by every ingest, while a file's distinct
URLs, hosts and registrable domains need a dozen kernels. pyarrow._compute, the extension module that
pyarrow.compute wraps, calls any kernel by name and imports quickly. Array methods such as take(), filter()
and drop_null() import pyarrow.compute on first use: the functions below stand in for them too.
"""

from __future__ import annotations

import pyarrow as pa

try:
    from pyarrow import _compute as _arrow_compute
except ImportError:  # pragma: no cover - a pyarrow that moved its private module; the public one has the names
    from pyarrow import compute as _arrow_compute

call_function = _arrow_compute.call_function
ExtractRegexOptions = _arrow_compute.ExtractRegexOptions
MatchSubstringOptions = _arrow_compute.MatchSubstringOptions
SetLookupOptions = _arrow_compute.SetLookupOptions
SplitPatternOptions = _arrow_compute.SplitPatternOptions
StructFieldOptions = _arrow_compute.StructFieldOptions

Values = pa.Array | pa.ChunkedArray


def unique(values: Values) -> pa.Array:
    return call_function("unique", [values])


def drop_null(values: Values) -> Values:
    return call_function("drop_null", [values])


def take(values: Values, indices: Values) -> Values:
    return call_function("take", [values, indices])


def filter(values: Values, mask: Values) -> Values:  # noqa: A001 - the kernel's name
    return call_function("filter", [values, mask])


def all(values: Values) -> bool:  # noqa: A001 - the kernel's name
    """True when every non-null value is true (and there is one at least), as pyarrow.compute.all."""
    return call_function("all", [values]).as_py()


def any(values: Values) -> bool:  # noqa: A001 - the kernel's name
    return call_function("any", [values]).as_py()


def or_(left: Values, right: Values) -> Values:
    return call_function("or", [left, right])


def and_(left: Values, right: Values) -> Values:
    return call_function("and", [left, right])


def invert(values: Values) -> Values:
    return call_function("invert", [values])


def fill_null(values: Values, fill_value: object) -> Values:
    return call_function("coalesce", [values, pa.scalar(fill_value, values.type)])


def is_empty_string(values: Values) -> Values:
    return call_function("equal", [values, pa.scalar("", values.type)])


def if_else(condition: Values, if_true: object, if_false: Values) -> Values:
    return call_function("if_else", [condition, if_true, if_false])


def starts_with(values: Values, prefix: str) -> Values:
    return call_function("starts_with", [values], MatchSubstringOptions(prefix))


def match_substring_regex(values: Values, pattern: str) -> Values:
    return call_function("match_substring_regex", [values], MatchSubstringOptions(pattern))


def extract_regex_group(values: Values, pattern: str, group: int = 0) -> Values:
    """The `group`-th named group of `pattern` in each value (null where it does not match)."""
    matches = call_function("extract_regex", [values], ExtractRegexOptions(pattern))
    return call_function("struct_field", [matches], StructFieldOptions([group]))


def split_part(values: Values, separator: str, index: int, max_splits: int) -> Values:
    """Part `index` of each value split on `separator` at most `max_splits` times (null past the last part)."""
    parts = call_function("split_pattern", [values], SplitPatternOptions(separator, max_splits=max_splits))
    return call_function("list_element", [parts, pa.scalar(index, pa.int32())])


def replace_with_mask(values: Values, mask: Values, replacements: Values) -> Values:
    return call_function("replace_with_mask", [values, mask, replacements])


def index_in(values: Values, value_set: pa.Array) -> Values:
    return call_function("index_in", [values], SetLookupOptions(value_set))


def is_in(values: Values, value_set: pa.Array) -> Values:
    return call_function("is_in", [values], SetLookupOptions(value_set))


def indices_nonzero(values: Values) -> pa.Array:
    return call_function("indices_nonzero", [values])
