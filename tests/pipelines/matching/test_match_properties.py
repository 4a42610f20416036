"""Properties of matching: an entry catches every URL beneath it in any equivalent notation and never a
neighbour; the bulk DuckDB matcher and the in-memory matcher agree on a random corpus.

Only reserved names (.test, example.org) and documentation IP ranges are generated.
"""

from __future__ import annotations

import hashlib
import ipaddress
import random
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.corpus.synthetic import response_record, write_warc
from crawler.ingest import ingest
from pipelines.lists import ListSettings, add_list_version, normalize_list, parse_list_file
from pipelines.matching.driver import match_snapshot
from pipelines.matching.in_memory import UrlMatcher
from pipelines.store import open_store
from pipelines.urls import normalize

LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8).filter(
    lambda label: not label.isdigit()
)
SEGMENT = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.~", min_size=1, max_size=6).filter(
    lambda segment: segment not in (".", "..")
)


def matcher_for(tmp_path: Path, list_text: str, list_format: str) -> UrlMatcher:
    path = tmp_path / f"list-{hashlib.sha1(list_text.encode()).hexdigest()[:8]}.txt"
    path.write_text(list_text, encoding="utf-8")
    parsed = normalize_list(parse_list_file(path, list_format))
    assert parsed.expressions, parsed.rejected
    return UrlMatcher.from_list(parsed, "l")


def blocked(matcher: UrlMatcher, written: str) -> bool:
    """Whether the URL is caught both as written and after the ingest normalizer (what the store holds)."""
    direct = matcher.verdict(written)[0] == "block"
    stored = normalize(written)
    via_store = stored is not None and matcher.verdict(stored)[0] == "block"
    assert direct == via_store or stored is None, (written, stored)
    return direct


def _mixed_case(text: str, flips: list[bool]) -> str:
    return "".join(c.upper() if flip else c for c, flip in zip(text, flips + [False] * len(text), strict=False))


@st.composite
def host_notation(draw, host: str) -> str:
    """The same host as a browser would reach it, written differently."""
    written = _mixed_case(host, draw(st.lists(st.booleans(), max_size=len(host))))
    if draw(st.booleans()):  # percent-encode one letter
        letters = [i for i, c in enumerate(written) if c.isalpha()]
        if letters:
            at = draw(st.sampled_from(letters))
            written = f"{written[:at]}%{ord(written[at].lower()):02x}{written[at + 1 :]}"
    if draw(st.booleans()):
        written += "."
    return written


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    labels=st.lists(LABEL, min_size=1, max_size=3),
    subdomain=st.lists(LABEL, max_size=2),
    data=st.data(),
)
def test_domain_entry_catches_every_notation_and_no_neighbour(tmp_path, labels, subdomain, data):
    domain = ".".join([*labels, "test"])
    matcher = matcher_for(tmp_path, f"{domain}\n", "domains")
    host = ".".join([*subdomain, domain])
    scheme = data.draw(st.sampled_from(["http", "https", "HTTP", "hTTps"]))
    port = data.draw(st.sampled_from(["", ":80" if scheme.lower() == "http" else ":443", ":8080"]))
    userinfo = data.draw(st.sampled_from(["", "user@", "user:pw@", "good.example.org@"]))
    path = "/" + "/".join(data.draw(st.lists(SEGMENT, max_size=3)))
    written = f"{scheme}://{userinfo}{data.draw(host_notation(host))}{port}{path}"
    assert blocked(matcher, written), written
    # neighbours: another label, the name inside another domain, the name as userinfo
    assert not blocked(matcher, f"http://not{domain}/"), domain
    assert not blocked(matcher, f"http://{domain}.example.org/"), domain
    assert not blocked(matcher, f"http://{domain}@good.example.org/"), domain
    assert not blocked(matcher, f"http://x{domain}/"), domain


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    segments=st.lists(SEGMENT, min_size=1, max_size=3),
    below=st.lists(SEGMENT, max_size=2),
    trailing=st.booleans(),
    data=st.data(),
)
def test_url_entry_catches_what_is_beneath_it_and_no_sibling(tmp_path, segments, below, trailing, data):
    path = "/".join(segments) + ("/" if trailing else "")
    matcher = matcher_for(tmp_path, f"bad.test/{path}\n", "urls")
    beneath = "/".join(segments) + ("/" + "/".join(below) if below else "")
    written_path = beneath
    if data.draw(st.booleans()):  # percent-encode a character of the path
        at = data.draw(st.integers(0, len(written_path) - 1))
        if written_path[at] != "/":
            written_path = f"{written_path[:at]}%{ord(written_path[at]):02X}{written_path[at + 1 :]}"
    if data.draw(st.booleans()):  # a dot segment that resolves away
        written_path = f"x/./../{written_path}"
    if data.draw(st.booleans()) and "/" in written_path:  # a doubled slash, which Safe Browsing collapses
        at = written_path.rindex("/")
        written_path = f"{written_path[:at]}//{written_path[at + 1 :]}"
    query = data.draw(st.sampled_from(["", "?", "?q=1"]))
    host = data.draw(host_notation("bad.test"))
    if not trailing or below:
        assert blocked(matcher, f"http://{host}/{written_path}{query}"), (path, written_path)
    assert not blocked(matcher, f"http://bad.test/{'/'.join(segments)}x/")  # a sibling, not beneath
    assert not blocked(matcher, f"http://notbad.test/{beneath}")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(address=st.integers(int(ipaddress.IPv4Address("198.51.100.0")), int(ipaddress.IPv4Address("198.51.100.255"))))
def test_ip_entry_catches_every_notation(tmp_path, address):
    ip = ipaddress.IPv4Address(address)
    matcher = matcher_for(tmp_path, f"{ip}\n", "domains")
    octets = [int(part) for part in str(ip).split(".")]
    for written in (
        str(ip),
        str(address),  # one 32-bit number
        hex(address),
        ".".join(hex(octet) for octet in octets),
        ".".join(f"0{octet:o}" for octet in octets),
        f"{octets[0]}.{octets[1]}.{(octets[2] << 8) + octets[3]}",  # three parts
    ):
        assert blocked(matcher, f"http://{written}/x"), written
    assert not blocked(matcher, f"http://{ipaddress.IPv4Address(address ^ 1)}/x")


def test_idn_entries_match_either_spelling(tmp_path):
    matcher = matcher_for(tmp_path, "bücher.test\n", "domains")
    assert blocked(matcher, "http://xn--bcher-kva.test/")
    assert blocked(matcher, "http://WWW.BÜCHER.test/")
    assert not blocked(matcher, "http://bucher.test/")
    punycode = matcher_for(tmp_path, "xn--bcher-kva.test\n", "domains")
    assert blocked(punycode, "http://bücher.test/a")


# --- the bulk matcher agrees with the in-memory one --------------------------------------------------------


def random_corpus_urls(rng: random.Random, hosts: list[str]) -> list[str]:
    urls = []
    for _ in range(1500):
        host = rng.choice(hosts)
        if rng.random() < 0.3:
            host = f"{rng.choice(['www', 'cdn', 'a.b'])}.{host}"
        path = "/".join(rng.choice(["dl", "img", "x", "p%41ge", "a.b", "q", ""]) for _ in range(rng.randint(0, 3)))
        query = rng.choice(["", "", "?id=7", "?", "?a=%2F"])
        urls.append(f"{rng.choice(['http', 'https'])}://{host}/{path}{query}")
    return urls


def test_bulk_and_in_memory_matchers_agree(tmp_path, match_kernel):
    rng = random.Random(20261125)
    hosts = [f"h{n}.example.org" for n in range(30)] + [f"s{n}.test" for n in range(30)]
    hosts += [f"198.51.100.{n}" for n in range(10)] + ["[2001:db8::7]"]
    urls = random_corpus_urls(rng, hosts)
    page = "".join(f"<a href='{url}'>x</a>" for url in urls).encode()
    corpus = tmp_path / "c.warc.gz"
    write_warc(
        corpus,
        [response_record("https://page.example.net/", page), response_record("https://page.example.org/", page)],
        gzipped=True,
    )
    db = tmp_path / "db.duckdb"
    ingest(db, "S", [corpus], workers=1, show_progress=False)
    con = open_store(db)
    stored = sorted(row[0] for row in con.execute("SELECT url FROM urls").fetchall())  # independent of storage order
    linked = [url for url in stored if "page.example" not in url]  # entries drawn from links, not the pages
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "domains.txt").write_text("\n".join(rng.sample(hosts, 8)) + "\nexample.org\n")
    (lists / "hosts.txt").write_text("\n".join(f"0.0.0.0 {h}" for h in rng.sample(hosts[:60], 6)) + "\n")
    (lists / "urls.txt").write_text(
        "\n".join(rng.sample(linked, 25)).replace("https://", "").replace("http://", "") + "\n"
    )
    (lists / "cidr.txt").write_text("198.51.100.0/29\n")
    sample = rng.sample(linked, 20)
    expressions = [normalize_list(parse_list_file(lists / "urls.txt", "urls")).expressions[0].expression]
    from pipelines.urls import canonicalize, url_expressions

    for url in sample:
        expressions.append(rng.choice(url_expressions(canonicalize(url))))
    (lists / "hashes.txt").write_text(
        "\n".join(hashlib.sha256(e.encode()).hexdigest()[: rng.choice([8, 64])] for e in expressions) + "\n"
    )
    (lists / "md5.txt").write_text("\n".join(hashlib.md5(e.encode()).hexdigest() for e in expressions[:5]) + "\n")
    (lists / "allow.txt").write_text(f"{hosts[0]}\ncdn.{hosts[1]}\n")
    for name, list_format, list_type in [
        ("domains", "domains", "block"),
        ("hosts", "hosts", "block"),
        ("urls", "urls", "block"),
        ("cidr", "domains", "block"),
        ("hashes", "sha256", "block"),
        ("md5", "md5", "block"),
        ("allow", "domains", "allow"),
    ]:
        parsed = normalize_list(parse_list_file(lists / f"{name}.txt", list_format))
        add_list_version(con, name, parsed, ListSettings(list_type=list_type, list_format=list_format))
    summary = match_snapshot(con, "S")
    from pipelines.export import removal_query

    removals = con.execute(
        f"SELECT count(*) FILTER (WHERE action = 'drop_document'), count(*) FILTER (WHERE action = 'strip_link')"
        f" FROM ({removal_query()})",
        {"snapshot": "S"},
    ).fetchone()
    assert (summary.documents_flagged, summary.links_flagged) == removals  # the summary counts the removal list
    assert summary.documents_flagged == 1 and summary.links_flagged > 100  # page.example.org is listed
    bulk = set(con.execute("SELECT url, list_name, rule_expression, expression, effect FROM url_matches").fetchall())
    matcher = UrlMatcher.from_store(con)
    in_memory = {
        (url, hit.entry.list_name, hit.entry.expression, hit.url_expression, hit.entry.effect)
        for url in stored
        for hit in matcher.hits(url)
    }
    con.close()
    assert len(bulk) > 100
    assert {row[1] for row in bulk} == {"domains", "hosts", "urls", "cidr", "hashes", "md5", "allow"}
    assert bulk == in_memory
