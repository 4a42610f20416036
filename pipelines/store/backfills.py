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
