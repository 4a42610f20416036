"""`linksweep blocklist ...` and `linksweep allowlist ...`: load, update, inspect and remove versioned lists."""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import click

from pipelines.hashing import HASH_ALGOS
from pipelines.lists import (
    DEFAULT_MAX_BYTES,
    FORMATS,
    Downloaded,
    EmptyList,
    FetchError,
    ListFormatError,
    ListSettings,
    ListTypeMismatch,
    NormalizedList,
    SuspiciousVersion,
    UnknownList,
    download_list,
    list_settings,
    load_list_version,
    record_validators,
    remove_list,
)
from pipelines.store import open_store, staging_root
from pipelines.urls import NetworkPolicy

SHOWN_LINES = 20


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"linksweep: {message}", err=True)
    sys.exit(code)


def _is_url(source: str) -> bool:
    return source.lower().startswith(("http://", "https://"))


def print_report(parsed: NormalizedList, shown: int = SHOWN_LINES) -> None:
    """What a list file held: the counts, the format decision, and the first rejected/unsupported lines."""
    click.echo(parsed.summary())
    if parsed.decided_by:
        click.echo(f"  format auto: {parsed.format} ({parsed.decided_by})")
    for line_no, line, reason in parsed.rejected[:shown]:
        click.echo(f"  {parsed.path}:{line_no}: rejected ({reason}): {line.strip()[:100]}", err=True)
    if parsed.rejected_total > shown:
        click.echo(
            f"  ... and {parsed.rejected_total - min(shown, len(parsed.rejected)):,} more rejected lines", err=True
        )
    if parsed.unsupported:
        reasons = Counter(reason for _, _, reason in parsed.unsupported)
        kept = f" (reasons of the first {len(parsed.unsupported):,})" if parsed.more_unsupported else ""
        click.echo(f"  {parsed.unsupported_total:,} lines unsupported (not matched), by reason{kept}:", err=True)
        for reason, count in reasons.most_common(8):
            click.echo(f"    {count:>8,}  {reason}", err=True)
        if len(reasons) > 8:
            click.echo(f"    ... and {len(reasons) - 8} more reasons", err=True)


def _noun(settings: ListSettings) -> str:
    return "hashlist" if settings.list_format.startswith("hashes-") else f"{settings.list_type}list"


def _store_version(
    ctx: click.Context,
    name: str,
    path: Path,
    settings: ListSettings,
    *,
    origin: str,
    size: int | None,
    downloaded: Downloaded | None = None,
    force: bool = False,
) -> int:
    """Read the list at `path` as the next version of list `name`, print the account of its lines and say what
    became of it; for a download, also keep its HTTP validators, and say where it came from.

    Every list kind (block, allow, watch and hash lists) is read in bounded batches straight into the store
    (format auto decides here, and the list keeps the decided format).
    """
    keeps = f"; {name} keeps its current version" if downloaded is not None else ""
    con = open_store(ctx.obj["db"])
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
            on_parsed=print_report,
        )
        if downloaded is not None:
            record_validators(con, name, downloaded.etag, downloaded.last_modified)
    except ListFormatError as error:
        _fail(f"{error}{keeps}", 2)
    except OSError as error:
        _fail(f"{path}: cannot read: {error.strerror or error}{keeps}", 2)
    except EmptyList as error:
        _fail(f"{error}{keeps}")
    except SuspiciousVersion as error:
        _fail(str(error))
    except ListTypeMismatch as error:
        _fail(str(error), 2)
    finally:
        con.close()
    state = "unchanged, still" if loaded.unchanged else "loaded as"
    source = f" (from {origin})" if downloaded is not None else ""
    click.echo(f"{_noun(settings)} {name}: {state} version {loaded.version}{source}")
    return loaded.version


def _policy(allow_network: tuple[str, ...]) -> NetworkPolicy:
    try:
        return NetworkPolicy.allowing([network for network in allow_network if network.strip()])
    except ValueError as error:
        _fail(str(error), 2)
    raise AssertionError("unreachable")


ALLOW_NETWORK_HELP = (
    "Allow downloading from this CIDR though it is private/loopback/... (repeatable; plain HTTP is allowed only "
    "to such a network); refused by default, as in the crawl."
)


def _load_from(
    ctx: click.Context,
    name: str,
    source: str,
    settings: ListSettings,
    max_bytes: int,
    validators=(None, None),
    allow_network: tuple[str, ...] = (),
    *,
    force: bool = False,
) -> None:
    if not _is_url(source):
        path = Path(source)
        if not path.exists():
            _fail(f"{path}: no such file or folder", 2)
        _store_version(ctx, name, path, settings, origin=str(path.resolve()), size=_size_of(path), force=force)
        return
    directory = staging_root(ctx.obj["db"]) / "downloads"
    try:
        downloaded = download_list(
            source,
            directory,
            etag=validators[0],
            last_modified=validators[1],
            auth_env=settings.auth_env,
            max_bytes=max_bytes,
            policy=_policy(allow_network),
        )
    except FetchError as error:
        _fail(f"{error}; {name} keeps its current version")
    if downloaded.not_modified:
        click.echo(f"{_noun(settings)} {name}: not modified on the server ({source}); version unchanged")
        return
    try:
        _store_version(
            ctx,
            name,
            downloaded.path,
            settings,
            origin=source,
            size=downloaded.size,
            downloaded=downloaded,
            force=force,
        )
    finally:
        downloaded.path.unlink(missing_ok=True)


def _size_of(path: Path) -> int:
    if path.is_dir():
        return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())
    return path.stat().st_size


def _show_latest_versions(ctx: click.Context, where: str, params: dict | None = None) -> None:
    """The latest version of each list selected by `where` (over `l`, the lists table), with its counts."""
    con = open_store(ctx.obj["db"], read_only=True)
    try:
        con.sql(
            f"""
            SELECT l.name, l.category, v.format, v.version, v.accepted, v.duplicates,
                   v.rejected, v.unsupported, v.loaded_at, v.origin
            FROM lists AS l JOIN list_versions AS v ON v.list_name = l.name
            WHERE ({where})
              AND v.version_id = (SELECT max(version_id) FROM list_versions WHERE list_name = l.name)
            ORDER BY l.name
            """,
            params=params or {},
        ).show(max_width=200)
    finally:
        con.close()


def _add_remove_command(group: click.Group, noun: str) -> None:
    @group.command("remove")
    @click.argument("name")
    @click.pass_context
    def remove(ctx, name) -> None:
        """Forget list NAME: its versions, entries and the matches it made."""
        con = open_store(ctx.obj["db"], create=False)
        try:
            _check_kind(name, list_settings(con, name), noun)
            versions = remove_list(con, name)
        except UnknownList as error:
            _fail(str(error), 2)
        finally:
            con.close()
        click.echo(f"{noun} {name}: removed ({versions} versions and their matches)")


def _stored_settings(ctx: click.Context, name: str) -> ListSettings | None:
    """The recorded settings of list NAME, or None when there is no such list (or no store yet)."""
    db = Path(ctx.obj["db"])
    if not db.exists():
        return None
    con = open_store(db, read_only=True)
    try:
        return list_settings(con, name)
    except UnknownList:
        return None
    finally:
        con.close()


def _check_kind(name: str, settings: ListSettings, noun: str) -> None:
    if _noun(settings) != noun:
        _fail(f"{name!r} is a {_noun(settings)}; use `linksweep {_noun(settings)} ...`", 2)


FORCE_HELP = (
    "Load the new version even if it could not use many more lines than the current one "
    "(more than max(10, 1% of its entries))."
)


def _add_update_show_commands(group: click.Group, noun: str, formats: tuple[str, ...]) -> None:
    """`update`, `list`, `show` and `remove`: the same for every kind of list."""

    @group.command("update")
    @click.argument("name")
    @click.option("--from", "source", default=None, help="Load from here instead of the list's recorded source.")
    @click.option(
        "--format",
        "list_format",
        type=click.Choice(formats),
        default=None,
        help="Read it in this format from now on (default: the format the list was first loaded with).",
    )
    @click.option("--force", is_flag=True, help=FORCE_HELP)
    @click.option("--max-bytes", type=click.IntRange(min=1), default=DEFAULT_MAX_BYTES, show_default=True)
    @click.option("--allow-network", multiple=True, help=ALLOW_NETWORK_HELP)
    @click.pass_context
    def update(ctx, name, source, list_format, force, max_bytes, allow_network) -> None:
        """Fetch list NAME again from its URL (conditional GET) or re-read its file; a new version if it changed.

        The list is read in the format it was first loaded with (what auto decided then) unless --format is
        given. A failed or empty download, or a version that could not use many more lines than the current
        one, keeps the current version (exit 1).
        """
        con = open_store(ctx.obj["db"], read_only=True)
        try:
            settings = list_settings(con, name)
            row = con.execute(
                "SELECT l.etag, l.last_modified, v.origin FROM lists AS l JOIN list_versions AS v"
                " ON v.list_name = l.name WHERE l.name = ? ORDER BY v.version_id DESC LIMIT 1",
                [name],
            ).fetchone()
        except UnknownList as error:
            _fail(str(error), 2)
        finally:
            con.close()
        _check_kind(name, settings, noun)
        if list_format is not None:
            settings = replace(settings, list_format=list_format)
        etag, last_modified, origin = row
        target = source or settings.source_url or origin
        same_source = target == settings.source_url
        validators = (etag, last_modified) if same_source else (None, None)
        _load_from(ctx, name, target, settings, max_bytes, validators, allow_network, force=force)

    @group.command("list")
    @click.pass_context
    def list_(ctx) -> None:
        """Every list of this kind with its latest version and counts."""
        if noun == "hashlist":
            _show_latest_versions(ctx, "starts_with(l.format, 'hashes-')")
        else:
            _show_latest_versions(
                ctx, "l.list_type = $type AND NOT starts_with(l.format, 'hashes-')", {"type": noun[: -len("list")]}
            )

    @group.command("show")
    @click.argument("name")
    @click.option("--lines", type=int, default=SHOWN_LINES, show_default=True, help="Rejected lines shown.")
    @click.pass_context
    def show(ctx, name, lines) -> None:
        """Versions of list NAME, what its latest version holds, and lines it could not use."""
        con = open_store(ctx.obj["db"], read_only=True)
        try:
            settings = list_settings(con, name)
            _check_kind(name, settings, noun)
            click.echo(
                f"{noun} {name}: category {settings.category or '-'}, format {settings.list_format}"
                f", source {settings.source_url or 'file'}"
            )
            con.sql(
                """
                SELECT version, loaded_at, format, accepted, duplicates, rejected, unsupported,
                       comments, blank, bytes, sha256[:12] AS sha256, origin
                FROM list_versions WHERE list_name = $name ORDER BY version_id
                """,
                params={"name": name},
            ).show(max_width=200)
            con.sql(
                """
                SELECT entry_kind, exception, subdomains, hash_algorithm, count(DISTINCT line_no) AS entries,
                       count(*) AS expressions
                FROM list_entries
                WHERE version_id = (SELECT max(version_id) FROM list_versions WHERE list_name = $name)
                GROUP BY ALL ORDER BY ALL
                """,
                params={"name": name},
            ).show()
            for line_no, line, reason, outcome in con.execute(
                """
                SELECT line_no, line, reason, outcome FROM list_rejects
                WHERE version_id = (SELECT max(version_id) FROM list_versions WHERE list_name = ?)
                ORDER BY line_no LIMIT ?
                """,
                [name, lines],
            ).fetchall():
                click.echo(f"  line {line_no}: {outcome} ({reason}): {line.strip()[:100]}")
        except UnknownList as error:
            _fail(str(error), 2)
        finally:
            con.close()

    _add_remove_command(group, noun)


def list_group(list_type: str) -> click.Group:
    """The command group for one kind of list (`block`, `allow` or `watch`)."""
    noun = f"{list_type}list"
    effect = {
        "block": "flag what they match",
        "allow": "override every blocklist for what they match",
        "watch": "select links for `crawl --only-hosts-in`, and flag nothing",
    }[list_type]

    @click.group(name=noun, help=f"Load, update and inspect {noun}s (versioned; entries {effect}).")
    def group() -> None:
        pass

    @group.command("add")
    @click.argument("name")
    @click.argument("source")
    @click.option(
        "--format",
        "list_format",
        type=click.Choice(FORMATS),
        default=None,
        help="List format; auto (the default for a new list) sniffs it, says what it decided, and the list keeps "
        "that format for its next versions. Default for an existing list: its recorded format.",
    )
    @click.option("--category", default=None, help="What the list holds (e.g. csam, malware); shown in removals.")
    @click.option("--subdomains", is_flag=True, help="hosts files: an entry also covers its subdomains.")
    @click.option("--column", default=None, help="csv format: the column holding the URL or domain.")
    @click.option("--auth-env", default=None, help="Environment variable holding an auth header for downloads.")
    @click.option(
        "--allow-public-suffix",
        is_flag=True,
        help="Load entries that are public suffixes or bare TLDs (com, co.uk, *.com), refused by default.",
    )
    @click.option("--allow-wide-networks", is_flag=True, help="Load IPv4 networks wider than /8, refused by default.")
    @click.option("--force", is_flag=True, help=FORCE_HELP)
    @click.option("--max-bytes", type=click.IntRange(min=1), default=DEFAULT_MAX_BYTES, show_default=True)
    @click.option("--allow-network", multiple=True, help=ALLOW_NETWORK_HELP)
    @click.pass_context
    def add(
        ctx,
        name,
        source,
        list_format,
        category,
        subdomains,
        column,
        auth_env,
        allow_public_suffix,
        allow_wide_networks,
        force,
        max_bytes,
        allow_network,
    ) -> None:
        """Load SOURCE (a file, a UT1 folder, or an https URL) as the next version of list NAME."""
        stored = _stored_settings(ctx, name)
        if stored is not None:
            _check_kind(name, stored, noun)
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
        )
        _load_from(ctx, name, source, settings, max_bytes, allow_network=allow_network, force=force)

    _add_update_show_commands(group, noun, FORMATS)
    return group


def hashlist_group() -> click.Group:
    """`linksweep hashlist ...`: versioned lists of content hashes, matched by `crawl --hash-content`."""

    @click.group(
        name="hashlist",
        help="Load, update and inspect hashlists of content hashes (MD5, SHA-1, SHA-256, PDQ; versioned; "
        "entries flag fetched bodies with `crawl --hash-content`).",
    )
    def group() -> None:
        pass

    @group.command("add")
    @click.argument("name")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--algo", type=click.Choice(HASH_ALGOS), required=True)
    @click.option("--category", default=None, help="What the list holds; shown in removals.")
    @click.option("--force", is_flag=True, help=FORCE_HELP)
    @click.pass_context
    def add(ctx, name, path, algo, category, force) -> None:
        """Load the hash list PATH (one hash a line, md5sum output, or CSV) as the next version of NAME."""
        stored = _stored_settings(ctx, name)
        if stored is not None:
            _check_kind(name, stored, "hashlist")
        settings = ListSettings(list_type="block", category=category, list_format=f"hashes-{algo}")
        _load_from(ctx, name, str(path), settings, DEFAULT_MAX_BYTES, force=force)

    _add_update_show_commands(group, "hashlist", tuple(f"hashes-{algo}" for algo in HASH_ALGOS))
    return group
