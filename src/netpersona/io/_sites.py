"""Site of a request: the registrable domain of its host, by the Public Suffix List.

``http://m.news.sina.com.cn/x?y`` -> ``sina.com.cn``; ``https://a.b.example.co.uk`` ->
``example.co.uk``. Bare hosts and ``host:port`` are accepted, IP addresses are kept whole.
The authority ends where a browser (WHATWG URL standard) ends it, a backslash included
(``http://evil.com\\@good.com`` is ``evil.com``); internationalised names are one site in
either spelling (punycode or Unicode, shown in Unicode).
The suffix list is tldextract's bundled snapshot (:mod:`netpersona.io._suffixes`): nothing is
downloaded or cached on disk.

The authority (``host:port``) is cut out of each URL by :func:`authority_sql` inside the SQL
engine (once per row); the suffix-list lookup runs in Python once per *distinct* authority
(:func:`sites_for_hosts`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from netpersona.io._suffixes import registrable_name

# A valid host name: labels of letters (any script), digits, '-' and '_', joined by dots.
_HOST_NAME_RE = re.compile(r"[\w\-]+(?:\.[\w\-]+)*")
#: a leading URL scheme (``http://``), with any spaces or tabs before it; valid in RE2 and re
SCHEME_PATTERN = r"^[ \t]*[A-Za-z][A-Za-z0-9+.\-]*://"
_SCHEME_RE = re.compile(SCHEME_PATTERN)


def authority_sql(url: str) -> str:
    """SQL (DuckDB) expression cutting the authority (``user@host:port``) out of ``url``.

    ``http://`` and ``https://`` URLs take the third ``/``-separated part, other schemes lose
    theirs by one anchored regex and take the first part; the rare authority holding ``?`` or
    ``#`` is cut there too. Splits instead of a capturing regex, and no copy of the URL without
    its scheme: several times faster on billions of rows. :func:`authority_of` is its exact
    Python twin.

    >>> import duckdb
    >>> url = "'https://u@m.weibo.cn:8080/a?b'"
    >>> duckdb.sql(f"SELECT {authority_sql(url)}").fetchall()[0][0]
    'u@m.weibo.cn:8080'
    """
    head = (
        f"CASE WHEN starts_with({url}, 'http://') OR starts_with({url}, 'https://') "
        f"THEN split_part({url}, '/', 3) "
        f"ELSE split_part(regexp_replace({url}, '{SCHEME_PATTERN}', ''), '/', 1) END"
    )
    # WHATWG: in a web URL a backslash ends the authority as '/' does
    # (http://evil.com\@good.com is evil.com); the rare authority holding one is cut there
    return (
        f"CASE WHEN contains({head}, '?') OR contains({head}, '#') OR contains({head}, '\\') "
        f"THEN split_part(split_part(split_part({head}, '\\', 1), '?', 1), '#', 1) "
        f"ELSE {head} END"
    )


def authority_of(url: str) -> str:
    """The authority of a URL or bare host (the Python twin of :func:`authority_sql`)."""
    if url.startswith("http://"):
        rest = url[7:]
    elif url.startswith("https://"):
        rest = url[8:]
    else:
        rest = _SCHEME_RE.sub("", url, count=1)
    return rest.split("/", 1)[0].split("\\", 1)[0].split("?", 1)[0].split("#", 1)[0]


def host_of(authority: str) -> str:
    """The host of an authority: user info (``user@``) and port (``:8080``) removed."""
    host_port = authority.strip().rsplit("@", 1)[-1]
    if host_port.startswith("[") and "]" in host_port:
        return host_port.split("]", 1)[0] + "]"
    return host_port.split(":", 1)[0]


def normalise_host(host: str) -> str | None:
    """Lower-case a host and drop a trailing dot; None when it is not a valid host name or IP."""
    host = host.strip().lower().rstrip(".")
    if not host or len(host) > 253:
        return None
    if host.startswith("["):
        try:
            return str(ipaddress.IPv6Address(host[1:-1]))
        except ValueError:
            return None
    if not _HOST_NAME_RE.fullmatch(host):
        return None
    return _idna_unicode(host) if not host.isascii() or "xn--" in host else host


def _idna_unicode(host: str) -> str:
    """One form for an internationalised host: its punycode (``xn--bcher-kva.de``) and Unicode
    (``bücher.de``) spellings both become the Unicode one, UTS #46 mapped as browsers do (a
    name IDNA refuses is kept as it is)."""
    import idna

    try:
        return idna.decode(idna.encode(host, uts46=True))
    except (idna.IDNAError, UnicodeError, ValueError):
        return host


def registrable_domain(host: str) -> str | None:
    """The site of a host (or authority, ``user@host:port``): its registrable domain, the IP
    address itself, or None if it is not a valid host.

    A host with no known public suffix (``localhost``, an intranet name, a hashed token) is its
    own site; a host that is itself a public suffix (``co.uk``) too.

    >>> registrable_domain('img3.news.example.co.uk')
    'example.co.uk'
    >>> registrable_domain('user@10.0.0.7:8080')
    '10.0.0.7'
    >>> registrable_domain('not a host') is None
    True
    """
    name = normalise_host(host_of(host))
    if name is None:
        return None
    if name[0].isdigit() or ":" in name:
        try:
            return str(ipaddress.ip_address(name))
        except ValueError:
            pass
    return registrable_name(name)


def site_of_url(url: str) -> str | None:
    """The site of a URL or bare host (see the module docstring); None if it has no valid host.

    >>> site_of_url('https://m.weibo.cn/status/123?from=app')
    'weibo.cn'
    >>> site_of_url('http://api.map.baidu.com:80/geocoder')
    'baidu.com'
    """
    return registrable_domain(authority_of(url))


def sites_for_hosts(hosts: Iterable[str | None]) -> list[str | None]:
    """Sites of many distinct hosts (None stays None).

    >>> sites_for_hosts(['m.news.sina.com.cn', None, 'api.example.co.uk:443'])
    ['sina.com.cn', None, 'example.co.uk']
    """
    return [None if host is None else registrable_domain(host) for host in hosts]
