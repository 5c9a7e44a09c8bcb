"""Site of a request: the registrable domain of its host, by the Public Suffix List.

``http://m.news.sina.com.cn/x?y`` -> ``sina.com.cn``; ``https://a.b.example.co.uk`` ->
``example.co.uk``. Bare hosts and ``host:port`` are accepted, IP addresses are kept whole.
The suffix list is tldextract's bundled snapshot: nothing is downloaded or cached on disk.

Hosts are cut out of URLs by :data:`HOST_PATTERN` inside the SQL engine (once per row); the
suffix-list lookup runs in Python once per *distinct* host (:func:`sites_for_hosts`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from functools import lru_cache

#: host of a URL or bare host: optional scheme, optional user info, then a bracketed IPv6
#: address or everything up to the port, path, query or fragment. Valid in RE2 (DuckDB) and re.
HOST_PATTERN = r"^\s*(?:[A-Za-z][A-Za-z0-9+.\-]*://)?(?:[^@/?#]*@)?(\[[0-9A-Fa-f:.]*\]|[^/?#:]*)"
_HOST_RE = re.compile(HOST_PATTERN)
# a DNS label: letters (any script), digits, '-' and '_'; no spaces or punctuation
_LABEL_RE = re.compile(r"^[^\W]([\w\-]*[^\W])?$|^[\w]$")


def host_of(url: str) -> str:
    """The host part of a URL or bare host, exactly as :data:`HOST_PATTERN` cuts it in SQL."""
    match = _HOST_RE.match(url)
    return match.group(1) if match else ""


@lru_cache(maxsize=1)
def _extractor():
    import tldextract

    # suffix_list_urls=() -> never download; cache_dir=None -> never write a cache file
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


def normalise_host(host: str) -> str | None:
    """Lower-case a host and drop a trailing dot; None when it is not a valid host name or IP."""
    host = host.strip().lower().rstrip(".")
    if not host or len(host) > 253:
        return None
    if host.startswith("["):
        try:
            return str(ipaddress.IPv6Address(host.strip("[]")))
        except ValueError:
            return None
    labels = host.split(".")
    if all(_LABEL_RE.match(label) for label in labels):
        return host
    return None


def registrable_domain(host: str) -> str | None:
    """The site of a host: its registrable domain, the IP address itself, or None if invalid.

    A host with no known public suffix (``localhost``, an intranet name, a hashed token) is its
    own site; a host that is itself a public suffix (``co.uk``) too.
    """
    name = normalise_host(host)
    if name is None:
        return None
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        pass
    parts = _extractor()(name)
    if parts.suffix and parts.domain:
        return f"{parts.domain}.{parts.suffix}"
    return name


def site_of_url(url: str) -> str | None:
    """The site of a URL or bare host (see the module docstring); None if it has no valid host."""
    return registrable_domain(host_of(url))


def sites_for_hosts(hosts: Iterable[str | None]) -> list[str | None]:
    """Sites of many distinct hosts (None stays None)."""
    return [None if host is None else registrable_domain(host) for host in hosts]
