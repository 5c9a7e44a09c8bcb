"""The Public Suffix List (ICANN section) from tldextract's bundled snapshot, matched fast.

tldextract ships a snapshot of the list inside its package; this module reads that file (never
the network, never a cache) and matches hosts against it with plain set look-ups, several
times faster per host than ``tldextract.TLDExtract`` — it runs once per distinct host of logs
that can hold millions of them. The tests hold it to tldextract's own answers.
"""

from __future__ import annotations

import pkgutil
from dataclasses import dataclass
from functools import lru_cache

_SNAPSHOT = ".tld_set_snapshot"
_END_OF_ICANN = "===END ICANN DOMAINS==="


@dataclass(frozen=True)
class PublicSuffixList:
    """Suffix rules: plain (``co.uk``), wildcard (``*.ck``, stored as ``ck``) and exception
    (``!www.ck``, stored as ``www.ck``)."""

    rules: frozenset[str]
    wildcards: frozenset[str]
    exceptions: frozenset[str]

    @classmethod
    def parse(cls, text: str) -> PublicSuffixList:
        """Rules of the ICANN section of a list in the publicsuffix.org format."""
        rules: set[str] = set()
        wildcards: set[str] = set()
        exceptions: set[str] = set()
        for line in text.split(_END_OF_ICANN, 1)[0].splitlines():
            words = line.split()
            if not words or words[0].startswith("//"):
                continue
            rule = words[0].lower()
            if rule.startswith("!"):
                exceptions.add(rule[1:])
            elif rule.startswith("*."):
                wildcards.add(rule[2:])
            else:
                rules.add(rule)
        return cls(frozenset(rules), frozenset(wildcards), frozenset(exceptions))

    def suffix_start(self, labels: list[str]) -> int | None:
        """Index of the first label of the longest public suffix of ``labels`` (lower-case,
        Unicode), or None when no rule matches (an unknown top-level domain)."""
        n = len(labels)
        for i in range(n):  # longest candidate first
            candidate = ".".join(labels[i:])
            if candidate in self.exceptions:
                return i + 1
            if candidate in self.rules:
                return i
            if i + 1 < n and ".".join(labels[i + 1 :]) in self.wildcards:
                return i
        return None


@lru_cache(maxsize=1)
def bundled_suffix_list() -> PublicSuffixList:
    """The list as bundled with the installed tldextract."""
    data = pkgutil.get_data("tldextract", _SNAPSHOT)
    if data is None:  # pragma: no cover - a broken tldextract install
        raise RuntimeError(f"tldextract's bundled {_SNAPSHOT} is missing; reinstall tldextract")
    return PublicSuffixList.parse(data.decode("utf-8"))


def _unicode_label(label: str) -> str:
    if label.startswith("xn--"):
        try:
            return label.encode("ascii").decode("idna")
        except (UnicodeError, ValueError):
            return label
    return label


def registrable_name(host: str) -> str:
    """The registrable domain of a valid, lower-case host name: its public suffix and one
    label more; the host itself when it is a public suffix or has no known suffix."""
    labels = host.split(".")
    start = bundled_suffix_list().suffix_start([_unicode_label(label) for label in labels])
    if not start:  # None: unknown suffix; 0: the host is a public suffix
        return host
    return ".".join(labels[start - 1 :])
