"""Real lists (../shared/realdata/blocklists) through the whole list pipeline: every entry canonicalizes, and the
same data shipped in different formats flags the same URLs.

URLs here are only strings given to the in-memory matcher: nothing is resolved or fetched.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.lists.entries import NormalizedList, normalize_list
from pipelines.lists.formats import parse_list_file
from pipelines.matching import UrlMatcher
from tests.pipelines.lists.formats.test_real_lists import REAL_LISTS


def normalized(realdata: Path, name: str, list_format: str, **options) -> NormalizedList:
    return normalize_list(parse_list_file(realdata / "blocklists" / name, list_format, **options))


# Duplicates after canonicalization that INVENTORY.md counts too (its "dup=" column, lines compared as written)
INVENTORY_DUPLICATES = {"anudeepND/CoinMiner.txt": 109, "anudeepND/adservers.txt": 173}


@pytest.mark.parametrize(
    ("name", "list_format"), [(row[0], row[1]) for row in REAL_LISTS], ids=[r[0] for r in REAL_LISTS]
)
def test_every_real_entry_canonicalizes(realdata, name, list_format):
    report = parse_list_file(realdata / "blocklists" / name, list_format)
    parsed = normalize_list(report)
    # each parsed entry is accepted or a duplicate of an accepted one; canonicalization refuses none but the
    # public suffixes (`com`, `co.uk`: they would flag every site under them)
    suffixes = [row for row in parsed.rejected if row[2].startswith("a public suffix (")]
    assert parsed.entries + parsed.duplicates + len(suffixes) == len(report.entries)
    assert parsed.rejected == sorted(report.rejected + suffixes)
    assert sum(parsed.by_kind.values()) == parsed.entries
    if name in INVENTORY_DUPLICATES:
        assert parsed.duplicates == INVENTORY_DUPLICATES[name]


def probe_urls(*lists: NormalizedList) -> list[str]:
    """URLs at, beneath and next to every entry of the lists."""
    urls = set()
    for parsed in lists:
        for expression in parsed.expressions:
            if expression.entry_kind not in ("domain", "ip", "url"):
                continue
            target = expression.expression
            urls.add(f"http://{target}")
            urls.add(f"https://{target}deeper/page.html?q=1")
            if expression.entry_kind != "ip":
                urls.add(f"http://www.{target}")
                urls.add(f"http://not-{target}")
    return sorted(urls)


def flagged(parsed: NormalizedList, urls: list[str]) -> set[str]:
    matching = UrlMatcher.from_list(parsed)
    return {url for url in urls if matching.verdict(url)[0] == "block"}


def assert_same_urls_flagged(*lists: NormalizedList) -> None:
    urls = probe_urls(*lists)
    results = [flagged(parsed, urls) for parsed in lists]
    assert results[0], "nothing flagged: the probe is not testing anything"
    assert len(results[0]) < len(urls), "everything flagged: the probe has no neighbours"
    for parsed, result in zip(lists[1:], results[1:], strict=True):
        assert result == results[0], (parsed.path, sorted(result ^ results[0])[:5])


# The same data in several formats, as (file under blocklists/, format, parse options): each group flags the same
# URLs. Hosts files block the exact host unless told that the list means domains (subdomains=True).
SAME_DATA_IN_OTHER_FORMATS = {
    "ransomware-in-four-formats": [
        ("blocklistproject/ransomware-nl.txt", "domains", {}),
        ("blocklistproject/ransomware-ags.txt", "adblock", {}),
        ("blocklistproject/ransomware-dnsmasq.txt", "dnsmasq", {}),
        ("blocklistproject/ransomware.txt", "hosts", {"subdomains": True}),
    ],
    "urlhaus-domain-forms": [
        ("urlhaus-filter/urlhaus-filter-domains.txt", "domains", {}),
        ("urlhaus-filter/urlhaus-filter-wildcard.txt", "wildcard", {}),
        ("urlhaus-filter/urlhaus-filter-agh.txt", "adblock", {}),
    ],
    "urlhaus-hosts-and-dnsmasq": [
        ("urlhaus-filter/urlhaus-filter-hosts.txt", "hosts", {"subdomains": True}),
        ("urlhaus-filter/urlhaus-filter-dnsmasq.conf", "dnsmasq", {}),
    ],
    "urlhaus-online-urls-as-adblock-rules-and-as-csv": [
        ("urlhaus-filter/urlhaus-filter-online.txt", "adblock", {}),
        ("urlhaus-filter/urlhaus-filter-splunk-online.csv", "csv", {}),
    ],
}


@pytest.mark.parametrize("forms", SAME_DATA_IN_OTHER_FORMATS.values(), ids=SAME_DATA_IN_OTHER_FORMATS)
def test_the_same_data_in_other_formats_flags_the_same_urls(realdata, forms):
    assert_same_urls_flagged(
        *(normalized(realdata, name, list_format, **options) for name, list_format, options in forms)
    )


def test_hosts_file_without_subdomains_is_narrower(realdata):
    exact = normalized(realdata, "blocklistproject/ransomware.txt", "hosts")
    domains = normalized(realdata, "blocklistproject/ransomware-nl.txt", "domains")
    urls = probe_urls(domains)
    assert flagged(exact, urls) < flagged(domains, urls)


@pytest.mark.parametrize(
    ("name", "list_format"), [(row[0], row[1]) for row in REAL_LISTS], ids=[r[0] for r in REAL_LISTS]
)
def test_the_batch_loader_stores_what_the_list_holds(realdata, tmp_path, monkeypatch, name, list_format):
    """load_list_version (batches, duplicates dropped in SQL) against normalize_list (whole list in memory)."""
    from pipelines.lists.entries import EmptyList
    from pipelines.lists.formats import reader as list_reader
    from pipelines.lists.versions import ListSettings, load_list_version
    from pipelines.store import open_store

    monkeypatch.setattr(list_reader, "BATCH_LINES", 997)  # many batches, boundaries anywhere
    whole = normalized(realdata, name, list_format)
    con = open_store(tmp_path / "l.duckdb")
    try:
        _, loaded = load_list_version(con, "l", realdata / "blocklists" / name, ListSettings(list_format=list_format))
        stored = con.execute("SELECT count(*) FROM list_entries").fetchone()[0]
    except EmptyList:
        assert not whole.expressions
        return
    finally:
        con.close()
    counts = ("entries", "duplicates", "rejected_total", "unsupported_total", "by_kind", "comments", "blank")
    assert [getattr(loaded, count) for count in counts] == [getattr(whole, count) for count in counts]
    assert loaded.rejected[:100] == whole.rejected[:100]
    assert stored == len(whole.expressions)
