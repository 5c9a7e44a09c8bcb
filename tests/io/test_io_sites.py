"""Site of a request = registrable domain of its host, by the bundled Public Suffix List."""

from __future__ import annotations

import os
import subprocess
import sys
from functools import lru_cache

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netpersona.io import registrable_domain, site_of_url
from netpersona.io._sites import authority_of, authority_sql
from netpersona.io._suffixes import bundled_suffix_list, registrable_name


@pytest.mark.parametrize(
    ("url", "site"),
    [
        ("http://m.news.sina.com.cn/x?y", "sina.com.cn"),
        ("https://a.b.example.co.uk", "example.co.uk"),
        ("news.sina.com.cn", "sina.com.cn"),  # bare host
        ("www.example.com:8080/path", "example.com"),  # host:port
        ("example.com:443", "example.com"),
        ("http://user:secret@www.google.com/q", "google.com"),  # user info
        ("HTTP://WWW.Example.COM./", "example.com"),  # case, trailing dot
        ("http://192.168.1.20:8080/a", "192.168.1.20"),  # IPv4 kept whole
        ("10.0.0.1", "10.0.0.1"),
        ("http://[2001:db8::1]:443/x", "2001:db8::1"),  # IPv6 kept whole
        ("localhost:3000", "localhost"),  # no public suffix: the host itself
        ("306bf00500f76b05", "306bf00500f76b05"),  # a hashed token (the GESIS file)
        ("x.com/r?to=http://y.com", "x.com"),  # a URL inside the query is not the host
        ("  ftp://files.example.org/a", "example.org"),
        ("co.uk", "co.uk"),  # a public suffix alone is its own site
    ],
)
def test_site_is_the_registrable_domain(url, site):
    assert site_of_url(url) == site


@pytest.mark.parametrize("url", ["", "http://", "http:///path", "a b.com", "x..com", "[::1", "@"])
def test_urls_without_a_valid_host_have_no_site(url):
    assert site_of_url(url) is None


_label = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)


@given(
    subdomains=st.lists(_label, max_size=4),
    name=_label,
    suffix=st.sampled_from(["com", "com.cn", "co.uk", "org", "net.au", "de", "gov.cn"]),
)
def test_subdomains_never_change_the_site(subdomains, name, suffix):
    host = ".".join([*subdomains, name, suffix])
    assert registrable_domain(host) == f"{name}.{suffix}"
    assert site_of_url(f"https://{host.upper()}:8443/a/b?c=d#e") == f"{name}.{suffix}"


_url_chars = st.sampled_from([*"ab.:/?#@[] \t-_9Hh", "http://", "https://", "://", "ftp", "é"])


_con = duckdb.connect()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_url_chars, max_size=14).map("".join), min_size=1, max_size=40))
def test_sql_and_python_cut_the_same_authority(urls):
    # the reader cuts hosts in SQL and finds bad rows' lines in Python: both must agree
    con = _con
    con.register("urls", pa.table({"url": urls}))
    in_sql = [r[0] for r in con.execute(f"SELECT {authority_sql('url')} FROM urls").fetchall()]
    assert in_sql == [authority_of(u) for u in urls]


def test_suffix_list_is_bundled_never_downloaded_nor_cached(tmp_path):
    # no network (sockets fail) and no cache written (HOME and XDG cache point to an empty dir)
    code = (
        "import socket\n"
        "def refuse(*a, **k): raise OSError('network used')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "from netpersona.io import site_of_url\n"
        "assert site_of_url('http://m.news.sina.com.cn/x') == 'sina.com.cn'\n"
    )
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop("TLDEXTRACT_CACHE", None)
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert list(tmp_path.rglob("*")) == []


@lru_cache(maxsize=1)
def _tldextract():
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


def _oracle(host: str) -> str:
    parts = _tldextract()(host)
    return f"{parts.domain}.{parts.suffix}" if parts.suffix and parts.domain else host


_psl = bundled_suffix_list()
_suffix = st.one_of(
    st.sampled_from(sorted(_psl.rules)),
    st.builds(
        lambda label, parent: f"{label}.{parent}", _label, st.sampled_from(sorted(_psl.wildcards))
    ),
    st.sampled_from(sorted(_psl.exceptions)),
    st.sampled_from(["xn--fiqs8s", "xn--55qx5d.cn", "localhost", "internal", "xn--p1ai"]),
)


@settings(max_examples=500, deadline=None)
@given(subdomains=st.lists(_label, max_size=3), suffix=_suffix)
def test_fast_suffix_matching_agrees_with_tldextract(subdomains, suffix):
    host = ".".join([*subdomains, suffix])
    assert registrable_name(host) == _oracle(host)


def test_the_bundled_list_is_the_icann_section():
    assert {"com", "co.uk", "com.cn", "sina.com.cn"} & _psl.rules == {"com", "co.uk", "com.cn"}
    assert "blogspot.com" not in _psl.rules  # private section left out, as tldextract does
    assert len(_psl.rules) > 5000
