"""`blocklist` / `allowlist` commands: versions, update over HTTP (conditional GET, auth, limits), show, remove.

The list server runs on 127.0.0.1 in this process; no other traffic.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.cli_runner import run

LOCAL = ("--allow-network", "127.0.0.1/32")


class LoopbackServer:
    """An HTTP server on a loopback address in a thread of this process; `url` is its list's URL."""

    def serve(self, host: str, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer((host, 0), handler)
        self.url = f"http://{host}:{self.httpd.server_address[1]}/list.txt"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class ListServer(LoopbackServer):
    """Serves one list body with an ETag; records every request's headers."""

    def __init__(self, host: str = "127.0.0.1") -> None:
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

        self.serve(host, Handler)


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
    added = run(db, "blocklist", "add", "remote", server.url, *LOCAL, "--category", "test-harm")
    assert "loaded as version 1" in added.output
    not_modified = run(db, "blocklist", "update", "remote", *LOCAL)
    assert "not modified" in not_modified.output
    assert server.requests[-1]["If-None-Match"] == '"v1"'
    server.body, server.etag = b"bad.test\nworse.test\n", '"v2"'
    assert "loaded as version 2" in run(db, "blocklist", "update", "remote", *LOCAL).output
    assert versions(db, "remote") == ["1", "2"]


def test_failed_or_empty_download_keeps_the_current_version(tmp_path, server):
    db = tmp_path / "l.duckdb"
    run(db, "blocklist", "add", "remote", server.url, *LOCAL)
    server.status = 503
    failed = run(db, "blocklist", "update", "remote", *LOCAL, expect=1)
    assert "HTTP 503" in failed.output and "keeps its current version" in failed.output
    server.status, server.body, server.etag = 200, b"", '"empty"'
    empty = run(db, "blocklist", "update", "remote", *LOCAL, expect=1)
    assert "empty list" in empty.output
    server.body, server.etag = b"# only a comment\n", '"comments"'
    assert "no usable entry" in run(db, "blocklist", "update", "remote", *LOCAL, expect=1).output
    assert versions(db, "remote") == ["1"]


def test_auth_header_from_environment_and_size_limit(tmp_path, server):
    db = tmp_path / "l.duckdb"
    missing = run(db, "blocklist", "add", "remote", server.url, *LOCAL, "--auth-env", "LIST_TOKEN", expect=1)
    assert "LIST_TOKEN" in missing.output
    run(
        db,
        "blocklist",
        "add",
        "remote",
        server.url,
        *LOCAL,
        "--auth-env",
        "LIST_TOKEN",
        env={"LIST_TOKEN": "Bearer s3cret"},
    )
    assert server.requests[-1]["Authorization"] == "Bearer s3cret"
    server.body, server.etag = b"a.test\n" * 100, '"big"'
    too_big = run(db, "blocklist", "update", "remote", *LOCAL, "--max-bytes", "50", expect=1, env={"LIST_TOKEN": "x"})
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


class RedirectingServer(LoopbackServer):
    """Answers every GET with a redirect to `location`, recording each request's headers."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.location = ""
        self.requests: list[dict[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                server.requests.append(dict(self.headers))
                self.send_response(302)
                self.send_header("Location", server.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.serve(host, Handler)


@pytest.fixture
def redirector():
    redirecting = RedirectingServer()
    yield redirecting
    redirecting.close()


@pytest.fixture
def other_origin():
    """A list server on another loopback address (another origin)."""
    list_server = ListServer("127.0.0.2")
    yield list_server
    list_server.close()


TOKEN = {"LIST_TOKEN": "X-List-Token: s3cret"}


def test_a_redirect_to_a_refused_address_is_never_requested(tmp_path, redirector, other_origin):
    db = tmp_path / "l.duckdb"
    redirector.location = other_origin.url  # 127.0.0.2: loopback, not opened by --allow-network
    result = run(
        db,
        "blocklist",
        "add",
        "r",
        redirector.url,
        "--auth-env",
        "LIST_TOKEN",
        "--allow-network",
        "127.0.0.1/32",
        expect=1,
        env=TOKEN,
    )
    assert "refused by the address policy" in result.output and "keeps its current version" in result.output
    assert len(redirector.requests) == 1 and redirector.requests[0]["X-List-Token"] == "s3cret"
    assert other_origin.requests == []


def test_a_redirect_to_plain_http_is_refused_before_any_request(tmp_path, redirector):
    redirector.location = "http://198.51.100.7/list.txt"  # documentation address: nothing may connect to it
    result = run(
        tmp_path / "l.duckdb",
        "blocklist",
        "add",
        "r",
        redirector.url,
        "--allow-network",
        "127.0.0.1/32",
        "--allow-network",
        "198.51.100.0/24",
        expect=1,
    )
    assert "198.51.100.7" in result.output and "keeps its current version" in result.output
    assert len(redirector.requests) == 1


def test_credentials_never_reach_another_origin(tmp_path, redirector, other_origin):
    db = tmp_path / "l.duckdb"
    redirector.location = other_origin.url
    run(
        db,
        "blocklist",
        "add",
        "r",
        redirector.url,
        "--auth-env",
        "LIST_TOKEN",
        "--allow-network",
        "127.0.0.0/8",
        env=TOKEN,
    )
    assert redirector.requests[0]["X-List-Token"] == "s3cret"
    assert len(other_origin.requests) == 1
    assert "X-List-Token" not in other_origin.requests[0] and "Authorization" not in other_origin.requests[0]


def test_loopback_needs_allow_network(tmp_path, server):
    result = run(tmp_path / "l.duckdb", "blocklist", "add", "remote", server.url, expect=1)
    assert "HTTPS only" in result.output and "--allow-network" in result.output
    assert server.requests == []
    https_loopback = run(tmp_path / "l.duckdb", "blocklist", "add", "remote", "https://127.0.0.1:9/l.txt", expect=1)
    assert "Loopback 127.0.0.1" in https_loopback.output


def test_redirect_loops_stop(tmp_path, redirector):
    redirector.location = redirector.url
    result = run(tmp_path / "l.duckdb", "blocklist", "add", "r", redirector.url, *LOCAL, expect=1)
    assert "more than 5 redirects" in result.output
    assert len(redirector.requests) == 6
