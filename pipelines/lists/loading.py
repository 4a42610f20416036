"""Loading a list from where it is, as `... add` and `... update` do: a local file or UT1 folder, or a download
(a conditional GET when the list is fetched again from its own URL), read as the list's next version.

A load that leaves the list as it was says so in its error: a failed or empty download keeps the current
version (FetchError, EmptyList, SuspiciousVersion), and so does a source that cannot be read as given
(ListSourceError, ListFormatError).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb

from pipelines.lists.entries import EmptyList, NormalizedList
from pipelines.lists.fetch import DEFAULT_MAX_BYTES, Downloaded, FetchError, download_list
from pipelines.lists.formats import ListFormatError
from pipelines.lists.versions import (
    ListSettings,
    UnknownList,
    list_settings,
    load_list_version,
    record_validators,
    require_kind,
)
from pipelines.store import list_kind, open_store, staging_root
from pipelines.urls import NetworkPolicy


class ListSourceError(ValueError):
    """A list source that cannot be used as given: no such path, one that cannot be read, or a network it may
    not be downloaded from."""


@dataclass(frozen=True)
class ListLoad:
    """What a load made of list `name`: the version it has now (`unchanged` when that version already held the
    same content), or no version at all when the server said the list had not changed."""

    name: str
    kind: str  # blocklist, allowlist, watchlist or hashlist
    source: str  # the path or URL read
    downloaded: bool
    version: int | None = None  # None: not modified on the server
    unchanged: bool = False

    @property
    def not_modified(self) -> bool:
        return self.version is None


OnParsed = Callable[[NormalizedList], None]


def add_list(
    db_path: Path,
    name: str,
    source: str,
    *,
    list_type: str = "block",
    list_format: str | None = None,
    category: str | None = None,
    auth_env: str | None = None,
    subdomains: bool = False,
    column: str | None = None,
    allow_public_suffix: bool = False,
    allow_wide_networks: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
    allow_network: Sequence[str] = (),
    force: bool = False,
    on_parsed: OnParsed | None = None,
    two_reviewers: bool | None = None,
    reportable: bool | None = None,
) -> ListLoad:
    """Load `source` (a file, a UT1 folder, or an http(s) URL, which `update` fetches again) as the next version
    of list `name`. Without `list_format`: the format the list was loaded with, or auto for a new list.

    `on_parsed` sees the account of the list's lines before the version is recorded or refused.
    """
    stored = _stored_settings(db_path, name)
    if stored is not None:
        require_kind(name, stored, list_kind(list_type, list_format or "auto"))
    if list_format is None:
        list_format = stored.list_format if stored is not None else "auto"
    settings = ListSettings(
        list_type=list_type,
        category=category,
        list_format=list_format,
        source_url=source if _is_url(source) else None,
        auth_env=auth_env,
        subdomains=subdomains,
        column=column,
        allow_public_suffix=allow_public_suffix,
        allow_wide_networks=allow_wide_networks,
        two_reviewers=two_reviewers,
        reportable=reportable,
    )
    return _load_from(db_path, name, source, settings, max_bytes, (None, None), allow_network, force, on_parsed)


def update_list(
    db_path: Path,
    name: str,
    *,
    kind: str,
    source: str | None = None,
    list_format: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    allow_network: Sequence[str] = (),
    force: bool = False,
    on_parsed: OnParsed | None = None,
) -> ListLoad:
    """Fetch list `name` (of `kind`) again from its URL (a conditional GET) or re-read its file, or load it from
    `source` instead, in the format it was first loaded with unless `list_format` is given."""
    con = open_store(db_path, read_only=True)
    try:
        settings = list_settings(con, name)
        etag, last_modified, origin = _latest_download(con, name)
    finally:
        con.close()
    require_kind(name, settings, kind)
    if list_format is not None:
        settings = replace(settings, list_format=list_format)
    target = source or settings.source_url or origin
    validators = (etag, last_modified) if target == settings.source_url else (None, None)
    return _load_from(db_path, name, target, settings, max_bytes, validators, allow_network, force, on_parsed)


def _latest_download(con: duckdb.DuckDBPyConnection, name: str) -> tuple[str | None, str | None, str]:
    """The HTTP validators of the list's last download, and where its latest version came from."""
    return con.execute(
        "SELECT l.etag, l.last_modified, v.origin FROM lists AS l JOIN list_versions AS v"
        " ON v.list_name = l.name WHERE l.name = ? ORDER BY v.version_id DESC LIMIT 1",
        [name],
    ).fetchone()


def _is_url(source: str) -> bool:
    return source.lower().startswith(("http://", "https://"))


def _stored_settings(db_path: Path, name: str) -> ListSettings | None:
    """The recorded settings of list `name`, or None when there is no such list (or no store yet)."""
    if not Path(db_path).exists():
        return None
    con = open_store(db_path, read_only=True)
    try:
        return list_settings(con, name)
    except UnknownList:
        return None
    finally:
        con.close()


def _load_from(
    db_path: Path,
    name: str,
    source: str,
    settings: ListSettings,
    max_bytes: int,
    validators: tuple[str | None, str | None],
    allow_network: Sequence[str],
    force: bool,
    on_parsed: OnParsed | None,
) -> ListLoad:
    if not _is_url(source):
        path = Path(source)
        if not path.exists():
            raise ListSourceError(f"{path}: no such file or folder")
        version, unchanged = _store_version(
            db_path, name, path, settings, str(path.resolve()), _size_of(path), None, force, on_parsed
        )
        return ListLoad(name, settings.kind, source, False, version, unchanged)
    try:
        downloaded = download_list(
            source,
            staging_root(db_path) / "downloads",
            etag=validators[0],
            last_modified=validators[1],
            auth_env=settings.auth_env,
            max_bytes=max_bytes,
            policy=_policy(allow_network),
        )
    except FetchError as error:
        raise FetchError(f"{error}; {name} keeps its current version") from None
    if downloaded.not_modified:
        return ListLoad(name, settings.kind, source, True)
    try:
        version, unchanged = _store_version(
            db_path, name, downloaded.path, settings, source, downloaded.size, downloaded, force, on_parsed
        )
    finally:
        downloaded.path.unlink(missing_ok=True)
    return ListLoad(name, settings.kind, source, True, version, unchanged)


def _policy(allow_network: Sequence[str]) -> NetworkPolicy:
    try:
        return NetworkPolicy.allowing([network for network in allow_network if network.strip()])
    except ValueError as error:
        raise ListSourceError(str(error)) from None


def _store_version(
    db_path: Path,
    name: str,
    path: Path,
    settings: ListSettings,
    origin: str,
    size: int | None,
    downloaded: Downloaded | None,
    force: bool,
    on_parsed: OnParsed | None,
) -> tuple[int, bool]:
    """Read the list at `path` as the next version of list `name`; for a download, also keep its HTTP
    validators. Returns the list's version number now, and whether it was unchanged.

    Every list kind (block, allow, watch and hash lists) is read in bounded batches straight into the store
    (format auto decides here, and the list keeps the decided format).
    """
    keeps = f"; {name} keeps its current version" if downloaded is not None else ""
    con = open_store(db_path)
    try:
        loaded, _ = load_list_version(
            con,
            name,
            path,
            settings,
            origin=origin,
            size=size,
            force=force,
            shown_path=origin if downloaded is not None else str(path),
            on_parsed=on_parsed,
        )
        if downloaded is not None:
            record_validators(con, name, downloaded.etag, downloaded.last_modified)
    except (ListFormatError, EmptyList) as error:
        if not keeps:
            raise
        raise type(error)(f"{error}{keeps}") from None
    except OSError as error:
        raise ListSourceError(f"{path}: cannot read: {error.strerror or error}{keeps}") from None
    finally:
        con.close()
    return loaded.version, loaded.unchanged


def _size_of(path: Path) -> int:
    if path.is_dir():
        return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())
    return path.stat().st_size
