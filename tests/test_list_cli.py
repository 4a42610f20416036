"""`blocklist` / `allowlist` commands: versions, update over HTTP (conditional GET, auth, limits), show, remove.

The list server runs on 127.0.0.1 in this process; no other traffic.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli import main


def run(db: Path, *args: str, expect: int = 0, env: dict | None = None):
    result = CliRunner().invoke(main, ["--db", str(db), *args], env=env)
    assert result.exit_code == expect, result.output
    return result


class ListServer:
    """Serves one list body with an ETag; records every request's headers."""

    def __init__(self) -> None:
        self.body = b"bad.test\n"
        self.etag = '"v1"'
        self.status = 200
        self.requests: list[dict[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                server.requests.append(dict(self.headers))
                if server.status != 200:
                    self.send_response(server.status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.headers.get("If-None-Match") == server.etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("ETag", server.etag)
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                self.wfile.write(server.body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/list.txt"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    list_server = ListServer()
    yield list_server
    list_server.close()


def versions(db: Path, name: str) -> list[str]:
    output = run(
        db, "sql", f"SELECT version_id FROM list_versions WHERE list_name = '{name}' ORDER BY 1", "--format", "csv"
    ).output
    return output.split()[1:]


def test_update_uses_conditional_get_and_keeps_versions(tmp_path, server):
    db = tmp_path / "l.duckdb"
    added = run(db, "blocklist", "add", "remote", server.url, "--category", "test-harm")
    assert "loaded as version 1" in added.output
    not_modified = run(db, "blocklist", "update", "remote")
    assert "not modified" in not_modified.output
    assert server.requests[-1]["If-None-Match"] == '"v1"'
    server.body, server.etag = b"bad.test\nworse.test\n", '"v2"'
    assert "loaded as version 2" in run(db, "blocklist", "update", "remote").output
    assert versions(db, "remote") == ["1", "2"]


def test_failed_or_empty_download_keeps_the_current_version(tmp_path, server):
    db = tmp_path / "l.duckdb"
    run(db, "blocklist", "add", "remote", server.url)
    server.status = 503
    failed = run(db, "blocklist", "update", "remote", expect=1)
    assert "HTTP 503" in failed.output and "keeps its current version" in failed.output
    server.status, server.body, server.etag = 200, b"", '"empty"'
    empty = run(db, "blocklist", "update", "remote", expect=1)
    assert "empty list" in empty.output
    server.body, server.etag = b"# only a comment\n", '"comments"'
    assert "no usable entry" in run(db, "blocklist", "update", "remote", expect=1).output
    assert versions(db, "remote") == ["1"]


def test_auth_header_from_environment_and_size_limit(tmp_path, server):
    db = tmp_path / "l.duckdb"
    missing = run(db, "blocklist", "add", "remote", server.url, "--auth-env", "LIST_TOKEN", expect=1)
    assert "LIST_TOKEN" in missing.output
    run(db, "blocklist", "add", "remote", server.url, "--auth-env", "LIST_TOKEN", env={"LIST_TOKEN": "Bearer s3cret"})
    assert server.requests[-1]["Authorization"] == "Bearer s3cret"
    server.body, server.etag = b"a.test\n" * 100, '"big"'
    too_big = run(db, "blocklist", "update", "remote", "--max-bytes", "50", expect=1, env={"LIST_TOKEN": "x"})
    assert "size limit" in too_big.output


def test_plain_http_is_refused_beyond_loopback(tmp_path):
    result = run(tmp_path / "l.duckdb", "blocklist", "add", "remote", "http://lists.example.org/l.txt", expect=1)
    assert "HTTPS only" in result.output


def test_show_list_and_remove(tmp_path):
    db = tmp_path / "l.duckdb"
    listing = tmp_path / "abp.txt"
    listing.write_text("[Adblock Plus 2.0]\n||bad.test^\n||ads.example.org^$third-party\nexample.org##.banner\n||^\n")
    added = run(db, "blocklist", "add", "abp", str(listing))
    assert "format auto: adblock" in added.output
    assert "2 lines unsupported" in added.output
    shown = run(db, "blocklist", "show", "abp").output
    assert "line 3: unsupported" in shown and "line 5: rejected" in shown
    assert "abp" in run(db, "blocklist", "list").output
    assert "abp" not in run(db, "allowlist", "list").output
    assert "removed (1 versions" in run(db, "blocklist", "remove", "abp").output
    assert "no list named 'abp'" in run(db, "blocklist", "show", "abp", expect=2).output


def test_a_name_is_either_a_blocklist_or_an_allowlist(tmp_path):
    db = tmp_path / "l.duckdb"
    listing = tmp_path / "l.txt"
    listing.write_text("good.test\n")
    run(db, "allowlist", "add", "keep", str(listing))
    clash = run(db, "blocklist", "add", "keep", str(listing), expect=2)
    assert "'keep' is a allowlist" in clash.output


def test_unreadable_list_format_is_a_clear_error(tmp_path):
    listing = tmp_path / "data.csv"
    listing.write_text("name,score\nx,1\n")
    result = run(tmp_path / "l.duckdb", "blocklist", "add", "t", str(listing), "--format", "csv", expect=2)
    assert "data.csv" in result.output
