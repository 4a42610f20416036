"""What the migrations of schema.py compute in Python: data SQL alone cannot derive."""

from __future__ import annotations

import duckdb
import pyarrow as pa


def backfill_private_domains(con: duckdb.DuckDBPyConnection) -> None:
    """Private-section registrable domains of the hosts recorded before version 2."""
    from pipelines.urls import registrable_domains

    hosts = [row[0] for row in con.execute("SELECT host FROM hosts WHERE host IS NOT NULL").fetchall()]
    if not hosts:
        return
    con.register(
        "private_domains",
        pa.table(
            {
                "host": pa.array(hosts, pa.string()),
                "domain": pa.array([registrable_domains(host).private for host in hosts], pa.string()),
            }
        ),
    )
    con.execute(
        "UPDATE hosts SET registered_domain_private = p.domain FROM private_domains AS p WHERE hosts.host = p.host"
    )
    con.execute(
        "UPDATE urls SET registered_domain_private = p.domain FROM private_domains AS p WHERE urls.host = p.host"
    )
    con.unregister("private_domains")


def tables_to_parts(con: duckdb.DuckDBPyConnection) -> None:
    from pipelines.store.parts import move_tables_to_parts

    move_tables_to_parts(con)


def urls_and_hosts_to_index(con: duckdb.DuckDBPyConnection) -> None:
    """Move the rows of the `urls` and `hosts` tables into the URL index as its first fold, then replace both
    tables with views of the index (pipelines/store/url_index.py)."""
    from pipelines.store.parts import parts_root_of
    from pipelines.store.url_buckets import URL_BUCKETS
    from pipelines.store.url_index import create_index_views, publish_url_rows

    root = parts_root_of(con)
    con.execute("INSERT OR REPLACE INTO store_settings VALUES ('url_buckets', ?)", [str(URL_BUCKETS)])
    con.execute("ALTER TABLE urls RENAME TO urls_before_index")
    con.execute("ALTER TABLE hosts RENAME TO hosts_before_index")
    create_index_views(con, root)
    [(rows,)] = con.execute(
        "SELECT (SELECT count(*) FROM urls_before_index) + (SELECT count(*) FROM hosts_before_index)"
    ).fetchall()
    if rows:
        publish_url_rows(
            con,
            root,
            "SELECT url, host, registered_domain, registered_domain_private, first_source FROM urls_before_index",
            hosts_query="SELECT host, registered_domain, registered_domain_private FROM hosts_before_index",
        )
    con.execute("DROP TABLE urls_before_index")
    con.execute("DROP TABLE hosts_before_index")
