"""Block, allow, watch and hash lists: file formats, entries, versions in the store, loading them from a file or
a download, and what `show` tells of one."""

from pipelines.lists.details import ListDetails, list_details
from pipelines.lists.entries import EmptyList, NormalizedList, host_entry, normalize_list
from pipelines.lists.fetch import DEFAULT_MAX_BYTES, Downloaded, FetchError, download_list
from pipelines.lists.formats import (
    FORMATS,
    HASH_ALGOS,
    FormatReport,
    HashListError,
    HashListReport,
    ListFormatError,
    RawEntry,
    check_hash,
    parse_hash_list,
    parse_list_file,
)
from pipelines.lists.loading import ListLoad, ListSourceError, add_list, update_list
from pipelines.lists.versions import (
    CURRENT_MATCHES_SQL,
    CURRENT_VERSIONS_SQL,
    SERVICE_VERSION_ID,
    ListSettings,
    ListTypeMismatch,
    SuspiciousVersion,
    UnknownList,
    WrongListKind,
    add_list_version,
    list_settings,
    load_list_version,
    record_validators,
    remove_list,
)

__all__ = [
    "CURRENT_MATCHES_SQL",
    "CURRENT_VERSIONS_SQL",
    "DEFAULT_MAX_BYTES",
    "Downloaded",
    "EmptyList",
    "FORMATS",
    "FetchError",
    "FormatReport",
    "HASH_ALGOS",
    "HashListError",
    "HashListReport",
    "ListDetails",
    "ListFormatError",
    "ListLoad",
    "ListSettings",
    "ListSourceError",
    "ListTypeMismatch",
    "NormalizedList",
    "RawEntry",
    "SERVICE_VERSION_ID",
    "SuspiciousVersion",
    "UnknownList",
    "WrongListKind",
    "add_list",
    "add_list_version",
    "check_hash",
    "download_list",
    "host_entry",
    "list_details",
    "list_settings",
    "load_list_version",
    "normalize_list",
    "parse_hash_list",
    "parse_list_file",
    "record_validators",
    "remove_list",
    "update_list",
]
