"""Registrable domains from the Public Suffix List, offline: the ICANN one and the one the private section gives.

`www.b.pages.example.org`, under a private-section suffix `pages.example.org` (a hosting service's), has the ICANN
registrable domain `example.org` (what a registrar sold) and the private one `b.pages.example.org` (the site an
operator controls under the shared hosting suffix); analysts want both. The list is the snapshot bundled with
tldextract and is never fetched at run time. Hosts under a TLD the list does not know (`.test`, `.example`)
follow the list's default rule `*`: the last two labels.

Lookups run once per distinct host of every ingested file, so the rules are indexed here by their punycode
(ASCII) form, the form hosts are stored in, and walked label by label as tldextract walks its trie; tldextract
itself decodes every label of every host from punycode first, which made it most of the cost. tldextract
stays the reference: tests compare the two on every rule of the list.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.urls.canonical import is_ip_host

# A lowercase name of two labels or more whose TLD starts with a letter (so no IP address), no empty label.
_PLAIN_NAME = r"^(?:[a-z0-9_-]+\.)+[a-z][a-z0-9-]*$"
_LAST_TWO_LABELS = r"(?P<domain>[^.]+\.[^.]+)$"
_LAST_LABEL = r"(?P<tld>[^.]+)$"

_ICANN_BEGIN = "===BEGIN ICANN DOMAINS==="
_PRIVATE_BEGIN = "===BEGIN PRIVATE DOMAINS==="


class RegistrableDomains(NamedTuple):
    icann: str | None  # under the ICANN section's public suffix (example.org for x.b.pages.example.org)
    private: str | None  # under the longest suffix of either section (b.pages.example.org for x.b.pages.example.org)


class SuffixList:
    """The rules of a Public Suffix List, indexed by ASCII suffix for label-by-label lookups.

    `_nodes` holds every suffix of every rule (what tldextract's trie holds as nodes): a value of None marks a
    suffix that is only a step towards longer rules, else whether the rule is in the private section.
    """

    def __init__(self, text: str) -> None:
        self._nodes: dict[str, bool | None] = {}
        self._wildcards: dict[str, bool] = {}  # "ck" for the rule "*.ck"
        self._exceptions: set[str] = set()  # "www.ck" for the rule "!www.ck"
        self._bulk_sets: tuple[pa.Array, pa.Array] | None = None  # see registrable_domains_array
        private = False
        nodes = self._nodes
        for line in text.splitlines():
            rule = line.strip()
            if not rule:
                continue
            if rule.startswith("//"):
                if _PRIVATE_BEGIN in rule:
                    private = True
                elif _ICANN_BEGIN in rule:
                    private = False
                continue
            rule = rule.split(None, 1)[0]
            exception = rule.startswith("!")
            if exception:
                rule = rule[1:]
            # most rules are ASCII: lowercased whole, without a label-by-label look for punycode
            suffix = rule.lower() if rule.isascii() else ".".join(map(self.ascii_label, rule.split(".")))
            first, dot, parent = suffix.partition(".")
            while parent and parent not in nodes:  # the shorter suffixes are steps towards this rule
                nodes[parent] = None
                parent = parent.partition(".")[2]
            if first == "*":
                self._wildcards[suffix[2:]] = private
            elif exception:
                self._exceptions.add(suffix)
            else:
                nodes[suffix] = private

    @staticmethod
    def ascii_label(label: str) -> str:
        """A rule label as it appears in a WHATWG host: lowercase, punycode when not ASCII."""
        label = label.lower()
        if label.isascii():
            return label
        return "xn--" + label.encode("punycode").decode("ascii")

    def registrable_domains_array(self, hosts: pa.Array) -> tuple[pa.Array, pa.Array]:
        """ICANN and private registrable domains of an array of hosts (one ingested file's distinct hosts).

        Most hosts sit under a TLD with no rule below it that could apply (`h1.example.org`, `site.test`): their
        registrable domain is their last two labels, whatever the walk. Those are answered with Arrow compute
        kernels; the rest take the label walk one by one.
        """
        if self._bulk_sets is None:
            self._bulk_sets = (
                pa.array(list(self._nodes), pa.string()),
                pa.array(
                    sorted(
                        {suffix for suffix in self._wildcards if "." not in suffix}
                        | {suffix for suffix, private in self._nodes.items() if "." not in suffix and private}
                    ),
                    pa.string(),
                ),
            )
        rule_suffixes, tlds_with_more = self._bulk_sets
        last_two = pc.struct_field(pc.extract_regex(hosts, _LAST_TWO_LABELS), [0])
        tld = pc.struct_field(pc.extract_regex(hosts, _LAST_LABEL), [0])
        simple = pc.and_(
            pc.match_substring_regex(hosts, _PLAIN_NAME),
            pc.invert(pc.or_(pc.is_in(last_two, value_set=rule_suffixes), pc.is_in(tld, value_set=tlds_with_more))),
        )
        simple = pc.fill_null(simple, False)
        if pc.all(simple).as_py():
            return last_two, last_two
        icann = last_two.to_pylist()
        private = list(icann)
        for index in pc.indices_nonzero(pc.invert(simple)).to_pylist():
            icann[index], private[index] = self.registrable_domains(hosts[index].as_py())
        return pa.array(icann, pa.string()), pa.array(private, pa.string())

    def is_icann_suffix(self, name: str) -> bool:
        """Whether a lowercase ASCII name is itself a public suffix by a rule of the ICANN section (`co.uk`, or
        `x.ck` under the rule `*.ck` unless excepted); one lookup or two, no walk."""
        if self._nodes.get(name) is False:
            return True
        parent = name.partition(".")[2]
        return self._wildcards.get(parent) is False and name not in self._exceptions

    @classmethod
    def from_file(cls, path: Path) -> SuffixList:
        return cls(path.read_text(encoding="utf-8"))

    def registrable_domains(self, host: str) -> RegistrableDomains:
        """The registrable domains of a lowercase host name; (None, None) for IPs, public suffixes themselves and
        empty or malformed names (leading dot, empty label)."""
        if not host or host.startswith(".") or is_ip_host(host) or ".." in host:
            return RegistrableDomains(None, None)
        host = host.rstrip(".")
        if "." not in host or host.rpartition(".")[2].isdigit():  # no TLD is all digits: not a domain name
            return RegistrableDomains(None, None)
        labels = host.split(".")
        count = len(labels)
        suffix_at = registry_at = count  # index of the first label of the public / ICANN registry suffix
        suffix_private = False
        current = ""
        nodes = self._nodes
        for index in range(count - 1, -1, -1):
            candidate = f"{labels[index]}.{current}" if current else labels[index]
            if candidate in nodes:
                current = candidate
                private = nodes[candidate]
                if private is not None:
                    suffix_at, suffix_private = index, private
                    if not private:
                        registry_at = index
                continue
            if current in self._wildcards:
                # "*.current" covers this label, unless "!label.current" excepts it
                suffix_at = index + 1 if candidate in self._exceptions else index
                suffix_private = self._wildcards[current]
            break
        if suffix_at == count:
            # a TLD the list does not know: the default rule "*" makes the last label the public suffix
            default = ".".join(labels[-2:])
            return RegistrableDomains(default, default)
        private_domain = ".".join(labels[suffix_at - 1 :]) if suffix_at > 0 else None
        if not suffix_private:
            return RegistrableDomains(private_domain, private_domain)
        # the ICANN answer is the same walk over the ICANN rules alone; where none matched, the default rule
        registry_at = min(registry_at, count - 1)
        icann = ".".join(labels[registry_at - 1 :]) if registry_at > 0 else None
        return RegistrableDomains(icann, private_domain)


def bundled_list_path() -> Path:
    """The PSL snapshot shipped inside the tldextract package (found without importing tldextract)."""
    spec = importlib.util.find_spec("tldextract")
    if spec is None or spec.origin is None:  # pragma: no cover - tldextract is a dependency
        raise RuntimeError("tldextract is not installed: it ships the Public Suffix List linksweep uses")
    return Path(spec.origin).with_name(".tld_set_snapshot")


@functools.cache
def bundled_suffix_list() -> SuffixList:
    return SuffixList.from_file(bundled_list_path())


_active: SuffixList | None = None  # the list in use; None until first needed (tests swap in their own)


def use_suffix_list(suffix_list: SuffixList | None) -> None:
    """Make `suffix_list` the list `registrable_domains` uses (None: back to the bundled snapshot)."""
    global _active
    _active = suffix_list
    registrable_domains.cache_clear()


@functools.lru_cache(maxsize=1 << 18)
def registrable_domains(host: str) -> RegistrableDomains:
    """ICANN and private-section registrable domains of `host` from the bundled Public Suffix List."""
    return (_active or bundled_suffix_list()).registrable_domains(host)


def registrable_domains_array(hosts: pa.Array) -> tuple[pa.Array, pa.Array]:
    """`registrable_domains` of distinct non-null hosts in bulk: (ICANN domains, private domains) arrays."""
    return (_active or bundled_suffix_list()).registrable_domains_array(hosts)


def registered_domain(host: str) -> str | None:
    """The ICANN registrable domain of `host` (`www.example.org` -> `example.org`); None for IPs and suffixes."""
    return registrable_domains(host).icann


def is_icann_public_suffix(host: str) -> bool:
    """Whether a lowercase host name is itself a public suffix of the ICANN section (`com`, `co.uk`) or a single
    label (a bare TLD); False for a name under one, for a private-section suffix (a company's shared hosting
    domain, which lists block on purpose) and for IPs."""
    if not host or is_ip_host(host):
        return False
    name = host.rstrip(".")
    return "." not in name or (_active or bundled_suffix_list()).is_icann_suffix(name)
