"""The synthetic web: ~200k sites by popularity rank, their hosts and their URLs.

A site is a registrable domain (``sina.com.cn``, ``xinhuaba.co.uk``) or, for a few app back
ends, a bare IP address. Site ``r`` is the ``r``-th most popular; the first few dozen are
well-known Chinese portals of 2013, the rest get generated pinyin-like names under a weighted
mix of public suffixes, many of them multi-label (``.com.cn``, ``.co.uk``) so that cutting
hosts to sites needs the Public Suffix List.

Every site owns a block of URL ids: ``n_pages`` page URLs (what a page load asks for first) and
``n_resources`` resource URLs (images, scripts, API calls that follow). A URL's text is a pure
function of (seed, URL id), so it is built only for the ids a batch uses, fully vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from netpersona.synth._hashing import hex_strings, mix64, uniform01
from netpersona.synth._vocab import (
    CATEGORIES,
    CATEGORY_SHARE,
    DATES,
    HEAD_SITES,
    IP_FIRST_OCTETS,
    LABEL_WORDS,
    MAIN_PREFIXES,
    PAGE_TEMPLATES,
    RESOURCE_PREFIXES,
    RESOURCE_TEMPLATES,
    SECTION_PREFIXES,
    SUFFIXES,
    SYLLABLES,
    WORDS,
    compile_templates,
)

N_CATEGORIES = len(CATEGORIES)
_SERVICES = CATEGORIES.index("services")
_LABEL_CAPACITY = len(SYLLABLES) * len(SYLLABLES) * len(LABEL_WORDS)
_LABEL_STRIDE = 104_729  # a prime that does not divide the label capacity: a bijection
_IP_STRIDE = 40_503  # odd and not a multiple of 29: a bijection of the IP space
_HTTPS_PERCENT = 6


@dataclass(frozen=True)
class SiteUniverse:
    """All sites of the synthetic web for one seed: popularity, categories, URL blocks.

    Site ids are popularity ranks (0 = the most popular). ``site_zipf`` is the exponent of the
    Zipf law that drives exploration (visits to sites outside a user's habits); ``head_zipf``
    the steeper law by which users adopt popular portals as habits; ``tail_zipf`` the flat law
    by which they adopt rare sites (ranks >= ``tail_start``).
    """

    seed: int
    n_sites: int
    site_zipf: float = 1.0
    head_zipf: float = 1.2
    head_pool: int = 500
    tail_zipf: float = 0.3
    tail_start: int = 2000
    pages_per_portal: int = 2000
    resources_per_portal: int = 600

    # -- per-site arrays ------------------------------------------------------------------
    @cached_property
    def _key(self) -> np.uint64:
        return mix64(np.array([self.seed & 0xFFFFFFFFFFFF, 0x5173], dtype=np.uint64))[0]

    @cached_property
    def site_hash(self) -> np.ndarray:
        """A 64-bit hash per site: the seed of everything drawn about it."""
        return mix64(np.arange(self.n_sites, dtype=np.uint64) ^ self._key)

    @cached_property
    def category(self) -> np.ndarray:
        """Category index per site (see ``CATEGORIES``): portals, video, shopping, ..."""
        n_head = min(len(HEAD_SITES), self.n_sites)
        cat = np.empty(self.n_sites, dtype=np.int8)
        cat[:n_head] = [CATEGORIES.index(c) for _, c in HEAD_SITES[:n_head]]
        cdf = np.cumsum(CATEGORY_SHARE) / np.sum(CATEGORY_SHARE)
        u = uniform01(self.site_hash[n_head:] ^ np.uint64(0xCA7))
        cat[n_head:] = np.minimum(np.searchsorted(cdf, u, side="right"), N_CATEGORIES - 1)
        # every category gets at least one generated site, whatever the draw
        first = cat[n_head : n_head + N_CATEGORIES]
        first[:] = np.arange(len(first))
        return cat

    @cached_property
    def is_ip(self) -> np.ndarray:
        """Sites reached by bare IP address (a tenth of the generated app back ends)."""
        flag = (self.category == _SERVICES) & (self.site_hash % np.uint64(10) == 0)
        flag[: len(HEAD_SITES)] = False
        return flag

    @cached_property
    def n_pages(self) -> np.ndarray:
        """Distinct page URLs per site: thousands for portals, a handful for the long tail."""
        rank = np.arange(1, self.n_sites + 1, dtype=np.float64)
        n = np.rint(self.pages_per_portal * rank**-0.5)
        return np.clip(n, 6, self.pages_per_portal).astype(np.int64)

    @cached_property
    def n_resources(self) -> np.ndarray:
        """Distinct resource URLs per site (images, scripts, API calls)."""
        rank = np.arange(1, self.n_sites + 1, dtype=np.float64)
        n = np.rint(self.resources_per_portal * rank**-0.45)
        return np.clip(n, 4, self.resources_per_portal).astype(np.int64)

    @cached_property
    def url_offset(self) -> np.ndarray:
        """First URL id of each site; site ``s`` owns ids ``url_offset[s] .. url_offset[s+1]-1``."""
        sizes = self.n_pages + self.n_resources
        return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

    @property
    def n_urls(self) -> int:
        return int(self.url_offset[-1])

    # -- sampling sites -------------------------------------------------------------------
    @cached_property
    def _global_cdf(self) -> np.ndarray:
        pool = min(self.head_pool, self.n_sites)
        w = np.arange(1, pool + 1, dtype=np.float64) ** -self.head_zipf
        return np.cumsum(w) / w.sum()

    @cached_property
    def _by_category(self) -> np.ndarray:
        """Site ids ordered by (category, rank)."""
        return np.lexsort((np.arange(self.n_sites), self.category)).astype(np.int64)

    def _category_cdf(self, weights: np.ndarray) -> np.ndarray:
        # Row trick: cumulative weights normalised within each category, plus 2 * category, so
        # one searchsorted over the flat array samples "site within category c" for any c.
        order = self._by_category
        cat = self.category[order].astype(np.int64)
        w = weights[order]
        total = np.bincount(cat, weights=w, minlength=N_CATEGORIES)
        cum = np.cumsum(w)
        start = np.concatenate([[0.0], np.cumsum(total)[:-1]])
        within = (cum - start[cat]) / np.where(total[cat] > 0, total[cat], 1.0)
        return within + 2.0 * cat

    @cached_property
    def _explore_cdf(self) -> np.ndarray:
        rank = np.arange(1, self.n_sites + 1, dtype=np.float64)
        return self._category_cdf(rank**-self.site_zipf)

    @cached_property
    def _tail_cdf(self) -> np.ndarray:
        rank = np.arange(1, self.n_sites + 1, dtype=np.float64)
        start = min(self.tail_start, self.n_sites // 10)
        w = rank**-self.tail_zipf
        w[:start] = 0.0
        has_tail = np.bincount(self.category, weights=w, minlength=N_CATEGORIES) > 0
        # a category without tail sites (tiny universes) falls back to all its sites
        w = np.where(has_tail[self.category], w, rank**-self.tail_zipf)
        return self._category_cdf(w)

    def _sample(self, cdf: np.ndarray, categories: np.ndarray, u: np.ndarray) -> np.ndarray:
        keys = 2.0 * categories + u
        order = np.argsort(keys)  # sorted keys make the binary searches cache-friendly
        pos = np.empty(len(keys), dtype=np.int64)
        pos[order] = np.searchsorted(cdf, keys[order], side="right")
        return self._by_category[np.minimum(pos, self.n_sites - 1)]

    def sample_head(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Popular sites people adopt as habits (portals, search, IM): steep Zipf over the head."""
        return np.searchsorted(self._global_cdf, rng.random(n), side="right").astype(np.int64)

    def sample_explore(self, rng: np.random.Generator, categories: np.ndarray) -> np.ndarray:
        """One site per entry of ``categories``, by Zipf popularity within that category."""
        return self._sample(self._explore_cdf, categories, rng.random(len(categories)))

    def sample_tail(self, rng: np.random.Generator, categories: np.ndarray) -> np.ndarray:
        """Rare sites (rank >= tail_start), nearly uniform over the long tail of a category."""
        return self._sample(self._tail_cdf, categories, rng.random(len(categories)))

    # -- names ----------------------------------------------------------------------------
    def domains(self, sites: np.ndarray) -> pa.StringArray:
        """Registrable domain (or IP address) of each site id."""
        sites = np.asarray(sites, dtype=np.int64)
        n_head = len(HEAD_SITES)
        h = self.site_hash[sites]
        # generated names: a bijection of the rank onto (syllable, syllable, word) labels
        gen = np.maximum(sites - n_head, 0)
        perm = (gen * _LABEL_STRIDE + int(self._key % np.uint64(_LABEL_CAPACITY))) % (
            _LABEL_CAPACITY
        )
        a, rest = np.divmod(perm, len(SYLLABLES) * len(LABEL_WORDS))
        b, c = np.divmod(rest, len(LABEL_WORDS))
        overflow = gen // _LABEL_CAPACITY
        overflow_txt = pc.if_else(
            pa.array(overflow > 0), pc.cast(pa.array(overflow), pa.string()), pa.scalar("")
        )
        label = pc.binary_join_element_wise(
            _SYLLABLES.take(pa.array(a)),
            _SYLLABLES.take(pa.array(b)),
            _LABEL_WORDS.take(pa.array(c)),
            overflow_txt,
            "",
        )
        clash = pc.is_in(label, value_set=_HEAD_LABELS)
        label = pc.if_else(clash, pc.binary_join_element_wise(label, "-cn", ""), label)
        suffix_cdf = np.cumsum([w for _, w in SUFFIXES]) / sum(w for _, w in SUFFIXES)
        s_idx = np.searchsorted(suffix_cdf, uniform01(h ^ np.uint64(0x5FF)), side="right")
        generated = pc.binary_join_element_wise(
            label, _SUFFIXES.take(pa.array(np.minimum(s_idx, len(SUFFIXES) - 1))), "."
        )
        # IP back ends: three octets are a bijection of the rank, so addresses are distinct
        ip_space = len(IP_FIRST_OCTETS) * 65536
        p = (gen * _IP_STRIDE + int(self._key % np.uint64(ip_space))) % ip_space
        o1 = _IP_FIRST.take(pa.array(p // 65536))
        o2 = pc.cast(pa.array(p // 256 % 256), pa.string())
        o3 = pc.cast(pa.array(p % 256), pa.string())
        o4 = pc.cast(pa.array((h >> np.uint64(8)) % np.uint64(253) + np.uint64(1)), pa.string())
        ip = pc.binary_join_element_wise(o1, o2, o3, o4, ".")
        head = _HEAD_DOMAINS.take(pa.array(np.minimum(sites, n_head - 1)))
        out = pc.if_else(pa.array(self.is_ip[sites]), ip, generated)
        return pc.if_else(pa.array(sites < n_head), head, out)

    def urls(self, url_ids: np.ndarray) -> pa.StringArray:
        """The text of each URL id: scheme, host of the site, path and query."""
        ids = np.asarray(url_ids, dtype=np.int64)
        site = np.searchsorted(self.url_offset, ids, side="right") - 1
        j = ids - self.url_offset[site]
        is_page = j < self.n_pages[site]
        h = mix64(ids.astype(np.uint64) ^ self._key)
        s_hash = self.site_hash[site]
        ip = self.is_ip[site]
        hosts = self._hosts(site, s_hash, h, is_page, ip)
        tmpl = _TEMPLATES.choose(self.category[site], is_page, j, h)
        pieces = [_TEMPLATES.literal(tmpl, 0)]
        for slot in range(_TEMPLATES.slots):
            pieces.append(_fill(_TEMPLATES.kind[tmpl, slot], mix64(h + np.uint64(slot + 1))))
            pieces.append(_TEMPLATES.literal(tmpl, slot + 1))
        https = (h >> np.uint64(40)) % np.uint64(100) < _HTTPS_PERCENT
        scheme = pc.if_else(pa.array(https & ~ip), "https://", "http://")
        return pc.binary_join_element_wise(scheme, hosts, *pieces, "")

    def _hosts(self, site, s_hash, h, is_page, ip) -> pa.StringArray:
        rank = site + 1
        # portals spread over many hosts (m., news., m.news., img1. ...), the tail over one or two
        n_page_hosts = np.clip(8 - np.log10(rank) * 1.6, 1, 8).astype(np.uint64)
        n_res_hosts = np.clip(5 - np.log10(rank), 1, 5).astype(np.uint64)
        k1 = (h >> np.uint64(16)) % np.where(is_page, n_page_hosts, n_res_hosts)
        k2 = (h >> np.uint64(28)) % np.where(is_page, n_page_hosts, n_res_hosts)
        k = np.minimum(k1, k2)  # the main host carries most of the traffic
        main = (s_hash >> np.uint64(3)) % np.uint64(len(MAIN_PREFIXES))
        section = (s_hash + k * np.uint64(7)) % np.uint64(len(SECTION_PREFIXES))
        res = (s_hash + k * np.uint64(5)) % np.uint64(len(RESOURCE_PREFIXES))
        prefix_idx = np.where(
            is_page,
            np.where(k == 0, main, len(MAIN_PREFIXES) + section),
            len(MAIN_PREFIXES) + len(SECTION_PREFIXES) + res,
        )
        prefix_idx = np.where(ip, len(_ALL_PREFIXES) - 1, prefix_idx).astype(np.int64)
        domain = self.domains(site)
        port = pc.if_else(
            pa.array(ip & ((s_hash >> np.uint64(11)) % np.uint64(3) != 0)), ":8080", ""
        )
        return pc.binary_join_element_wise(
            _ALL_PREFIXES.take(pa.array(prefix_idx)), domain, port, ""
        )


def zipf_index(n: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Index in ``0 .. n-1`` with probability ~ 1 / (index + 1): a discrete Zipf law per row."""
    return np.minimum(np.floor(np.exp(u * np.log1p(n))).astype(np.int64) - 1, n - 1)


def _fill(kind: np.ndarray, h: np.ndarray) -> pa.StringArray:
    """Values of one template placeholder: word, number, hex token, date or page number."""
    n = len(h)
    empty = pa.array(np.full(n, "", dtype=object), pa.string()) if n else pa.array([], pa.string())
    words = _WORDS.take(pa.array((h % np.uint64(len(WORDS))).astype(np.int64)))
    number = pc.cast(
        pa.array((h >> np.uint64(7)) % np.uint64(9_990_000) + np.uint64(10_000)), pa.string()
    )
    token = hex_strings(h >> np.uint64(13), 8)
    date = _DATES.take(pa.array(((h >> np.uint64(5)) % np.uint64(len(DATES))).astype(np.int64)))
    page = pc.cast(pa.array((h >> np.uint64(21)) % np.uint64(12) + np.uint64(1)), pa.string())
    return pc.choose(pa.array(kind, pa.int8()), empty, words, number, token, date, page)


_SYLLABLES = pa.array(SYLLABLES)
_LABEL_WORDS = pa.array(LABEL_WORDS)
_SUFFIXES = pa.array([s for s, _ in SUFFIXES])
_HEAD_DOMAINS = pa.array([d for d, _ in HEAD_SITES])
_HEAD_LABELS = pa.array(sorted({d.split(".")[0] for d, _ in HEAD_SITES}))
_IP_FIRST = pa.array([str(o) for o in IP_FIRST_OCTETS])
_WORDS = pa.array(WORDS)
_DATES = pa.array(DATES)
_ALL_PREFIXES = pa.array(
    [*MAIN_PREFIXES, *SECTION_PREFIXES, *RESOURCE_PREFIXES, ""]  # last: IP hosts, no prefix
)
_TEMPLATES = compile_templates(PAGE_TEMPLATES, RESOURCE_TEMPLATES)
