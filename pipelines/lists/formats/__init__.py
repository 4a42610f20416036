"""The syntax layer of list file formats: each line becomes a raw entry, or is counted as a comment, a blank
line, a rejected (malformed) line or an unsupported (valid but deliberately skipped) rule, with its line number.

Values are kept as written, stripped only of the format's syntax and surrounding whitespace: lowercasing,
punycode, host validity and deduplication belong to the canonical layer that reads these entries.

One module per family of formats (domains.py, hosts.py, adblock.py, csv_tables.py, hashes.py...), each
registered in registry.py; reader.py reads a file as batches of lines, sample.py what auto-detection looks at,
parse.py is where a file is read.
"""

from pipelines.lists.formats.common import FormatReport, ListFormatError, RawEntry
from pipelines.lists.formats.hashes import HASH_ALGOS, HashListError, HashListReport, check_hash
from pipelines.lists.formats.parse import content_sha256, parse_hash_list, parse_list_file, sniff_format
from pipelines.lists.formats.registry import FORMATS

__all__ = [
    "FORMATS",
    "FormatReport",
    "HASH_ALGOS",
    "HashListError",
    "HashListReport",
    "ListFormatError",
    "RawEntry",
    "check_hash",
    "content_sha256",
    "parse_hash_list",
    "parse_list_file",
    "sniff_format",
]
