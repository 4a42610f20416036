"""The Public Suffix List lookups linksweep runs per host, against tldextract (the reference) and the list's rules."""

from __future__ import annotations

from urllib.parse import SplitResult

import pytest

from pipelines.urls.public_suffix import SuffixList, bundled_list_path, bundled_suffix_list

tldextract = pytest.importorskip("tldextract")


def _tldextract_domains(extractor, host: str) -> tuple[str | None, str | None]:
    """What tldextract says, with the PSL default rule where it finds no suffix (as linksweep documents)."""
    result = extractor.extract_urllib(SplitResult("", host, "", "", ""))
    if not result.suffix:
        default = ".".join(host.rsplit(".", 2)[-2:])
        return default, default
    private = f"{result.domain}.{result.suffix}" if result.domain else None
    if not result.is_private:
        return private, private
    return result.top_domain_under_registry_suffix or None, private


def _hosts_from_rules(text: str) -> list[str]:
    """Hosts that exercise every rule: the rule itself (wildcards filled in) and names one and two labels below."""
    hosts = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("//"):
            continue
        labels = ["w" if label == "*" else label for label in line.split()[0].lstrip("!").split(".")]
        rule_host = ".".join(SuffixList.ascii_label(label) for label in labels)
        hosts += [rule_host, f"x.{rule_host}", f"a.b.{rule_host}"]
    return hosts


def test_every_rule_of_the_bundled_list_agrees_with_tldextract() -> None:
    extractor = tldextract.TLDExtract(
        suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True, include_psl_private_domains=True
    )
    suffix_list = bundled_suffix_list()
    hosts = _hosts_from_rules(bundled_list_path().read_text(encoding="utf-8"))
    assert len(hosts) > 25_000
    differences = {}
    for host in hosts:
        found = tuple(suffix_list.registrable_domains(host))
        if found != _tldextract_domains(extractor, host):
            differences[host] = found
    # one documented difference: a host that is itself a private-section suffix (pages.example.org) has no
    # private registrable domain, but it does have an ICANN one (example.org); tldextract gives none
    for host, (icann, private) in differences.items():
        assert private is None and icann is not None and (host == icann or host.endswith("." + icann)), host
    assert 0 < len(differences) < len(hosts) / 10


@pytest.fixture
def rules() -> SuffixList:
    return SuffixList(
        "// ===BEGIN ICANN DOMAINS===\n"
        "test\norg\n*.wild.test\n!keep.wild.test\n"
        "\u30c6\u30b9\u30c8\n"  # a Unicode rule, matched by the punycode host names are stored in
        "// ===END ICANN DOMAINS===\n"
        "// ===BEGIN PRIVATE DOMAINS===\n"
        "pages.example.org\n*.cdn.example.org\n"
        "// ===END PRIVATE DOMAINS===\n"
    )


@pytest.mark.parametrize(
    ("host", "icann", "private"),
    [
        ("www.site.test", "site.test", "site.test"),
        ("site.test", "site.test", "site.test"),
        ("test", None, None),
        ("a.b.wild.test", "a.b.wild.test", "a.b.wild.test"),  # *.wild.test: b.wild.test is a public suffix
        ("b.wild.test", None, None),
        ("www.keep.wild.test", "keep.wild.test", "keep.wild.test"),  # the exception
        ("www.site.xn--zckzah", "site.xn--zckzah", "site.xn--zckzah"),
        ("www.b.pages.example.org", "example.org", "b.pages.example.org"),
        ("pages.example.org", "example.org", None),
        ("x.y.z.cdn.example.org", "example.org", "y.z.cdn.example.org"),
        ("www.site.unknown", "site.unknown", "site.unknown"),  # the default rule
        ("198.51.100.7", None, None),
        ("[2001:db8::1]", None, None),
        ("a..site.test", None, None),
        (".site.test", None, None),
        ("www.site.test.", "site.test", "site.test"),
        ("host.123", None, None),
    ],
)
def test_rules(rules: SuffixList, host: str, icann: str | None, private: str | None) -> None:
    assert rules.registrable_domains(host) == (icann, private)


def test_bulk_lookups_agree_with_one_by_one(rules: SuffixList) -> None:
    """The Arrow path for plain names and the label walk for the rest give what the walk gives for each host."""
    import pyarrow as pa

    edge_cases = [
        "www.site.test", "b.wild.test", "a.b.wild.test", "www.keep.wild.test", "x.pages.example.org",
        "pages.example.org", "example.org", "org", "198.51.100.7", "[2001:db8::1]", "a..b.test", ".a.test",
        "a.test.", "WWW.Site.Test", "host.123", "host.1a", "x.y.z.cdn.example.org", "www.site.xn--zckzah", "localhost",
    ]  # fmt: skip
    bundled_hosts = _hosts_from_rules(bundled_list_path().read_text(encoding="utf-8"))
    for suffix_list, hosts in ((rules, edge_cases), (bundled_suffix_list(), bundled_hosts + edge_cases)):
        unique = list(dict.fromkeys(hosts))
        icann, private = suffix_list.registrable_domains_array(pa.array(unique, pa.string()))
        expected = [suffix_list.registrable_domains(host) for host in unique]
        assert icann.to_pylist() == [domains.icann for domains in expected]
        assert private.to_pylist() == [domains.private for domains in expected]
