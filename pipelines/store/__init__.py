"""The DuckDB store: opening and locking, the schema and its migrations, staging files, transactions."""

from pipelines.store.database import (
    BULK_ROW_GROUP_SIZE,
    DB_ENVIRONMENT_VARIABLE,
    SourceOutcome,
    StoreLocked,
    StoreMissing,
    StoreUnusable,
    commit_source_rows,
    ensure_snapshot,
    finish_source,
    open_store,
    record_new_urls,
    register_sources,
    remove_staging,
    resolve_db_path,
    staging_root,
)
from pipelines.store.schema import LATEST_VERSION, SchemaTooNew
from pipelines.store.sql_text import sql_identifier, sql_string, sql_string_list
from pipelines.store.staging import StagedSource, read_staged
from pipelines.store.transaction import memory_limit, transaction

__all__ = [
    "BULK_ROW_GROUP_SIZE",
    "DB_ENVIRONMENT_VARIABLE",
    "LATEST_VERSION",
    "SchemaTooNew",
    "SourceOutcome",
    "StagedSource",
    "StoreLocked",
    "StoreMissing",
    "StoreUnusable",
    "commit_source_rows",
    "ensure_snapshot",
    "finish_source",
    "memory_limit",
    "open_store",
    "read_staged",
    "record_new_urls",
    "register_sources",
    "remove_staging",
    "resolve_db_path",
    "sql_identifier",
    "sql_string",
    "sql_string_list",
    "staging_root",
    "transaction",
]
