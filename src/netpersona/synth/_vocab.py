"""Word lists of the synthetic web: categories, famous portals, name parts, URL templates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pyarrow as pa

#: What a site is for; users have personal interests over these.
CATEGORIES = (
    "portal",
    "search",
    "social",
    "video",
    "music",
    "shopping",
    "reading",
    "games",
    "forum",
    "apps",
    "finance",
    "local",
    "auto",
    "house_jobs",
    "life",
    "services",
)
#: Share of the generated (non-head) sites in each category.
CATEGORY_SHARE = (6, 1, 5, 6, 4, 12, 7, 10, 12, 8, 4, 8, 3, 4, 8, 3)

#: The most popular sites, most popular first: the Chinese mobile web of late 2013.
HEAD_SITES = (
    ("baidu.com", "search"),
    ("qq.com", "social"),
    ("taobao.com", "shopping"),
    ("sina.com.cn", "portal"),
    ("weibo.com", "social"),
    ("163.com", "portal"),
    ("uc.cn", "apps"),
    ("sohu.com", "portal"),
    ("hao123.com", "portal"),
    ("360.cn", "apps"),
    ("tmall.com", "shopping"),
    ("youku.com", "video"),
    ("ifeng.com", "portal"),
    ("10086.cn", "services"),
    ("jd.com", "shopping"),
    ("alipay.com", "finance"),
    ("iqiyi.com", "video"),
    ("tianya.cn", "forum"),
    ("sogou.com", "search"),
    ("qidian.com", "reading"),
    ("kugou.com", "music"),
    ("4399.com", "games"),
    ("tudou.com", "video"),
    ("xinhuanet.com", "portal"),
    ("58.com", "local"),
    ("dianping.com", "local"),
    ("douban.com", "social"),
    ("wandoujia.com", "apps"),
    ("people.com.cn", "portal"),
    ("autohome.com.cn", "auto"),
    ("meituan.com", "local"),
    ("hupu.com", "forum"),
    ("zol.com.cn", "apps"),
    ("kuwo.cn", "music"),
    ("ctrip.com", "local"),
    ("17173.com", "games"),
    ("weather.com.cn", "life"),
    ("eastmoney.com", "finance"),
    ("ganji.com", "local"),
    ("zhihu.com", "social"),
    ("letv.com", "video"),
    ("vip.com", "shopping"),
    ("umeng.com", "services"),
    ("renren.com", "social"),
    ("cctv.com", "portal"),
    ("zongheng.com", "reading"),
    ("suning.com", "shopping"),
    ("hiapk.com", "apps"),
    ("qunar.com", "local"),
    ("duowan.com", "games"),
    ("mop.com", "forum"),
    ("pconline.com.cn", "apps"),
    ("bitauto.com", "auto"),
    ("51job.com", "house_jobs"),
    ("soufun.com", "house_jobs"),
    ("39.net", "life"),
    ("icbc.com.cn", "finance"),
    ("xiami.com", "music"),
    ("17k.com", "reading"),
    ("7k7k.com", "games"),
    ("pptv.com", "video"),
    ("dangdang.com", "shopping"),
    ("12306.cn", "local"),
    ("anjuke.com", "house_jobs"),
    ("babytree.com", "life"),
    ("cmbchina.com", "finance"),
    ("huanqiu.com", "portal"),
    ("yhd.com", "shopping"),
    ("xcar.com.cn", "auto"),
    ("jjwxc.net", "reading"),
    ("mi.com", "apps"),
    ("bbc.co.uk", "portal"),
    ("yahoo.co.jp", "portal"),
    ("google.com.hk", "search"),
)


def _split(text: str) -> tuple[str, ...]:
    return tuple(text.split())


SYLLABLES = _split(
    "ba bai ban bao bei ben bi bo cai chang chao chen cheng chun da dai dong du fang "
    "fei feng fu gao guo hai hao he hong hua huan hui jia jian jin jing ju kai kang le li "
    "lian lin long lu mei meng ming nan ning pin qi qian qing rui shan shang sheng shi shu tai "
    "tian tong wan "
    "wei wen xi xiang xin xing ya yang yi yin you yu yun zhi zhong zhou"
)
#: Third part of a generated label (each distinct, "" included, so labels stay unique).
LABEL_WORDS = (
    "",
    "bbs",
    "game",
    "soft",
    "music",
    "car",
    "home",
    "shop",
    "tv",
    "news",
    "life",
    "mall",
    "book",
    "video",
    "wang",
    "net",
    "online",
    "hd",
    "88",
    "168",
    "365",
    "51",
    "99",
    "123",
    "520",
    "go",
    "app",
    "kan",
    "you",
    "ba",
    "mi",
    "china",
    "web",
    "zone",
    "pic",
    "info",
    "job",
    "fang",
    "tuan",
    "ok",
)
#: Public suffixes of generated sites with their weights; multi-label ones need the PSL.
SUFFIXES = (
    ("com", 46),
    ("cn", 14),
    ("com.cn", 12),
    ("net", 8),
    ("net.cn", 3),
    ("org", 2),
    ("cc", 3),
    ("org.cn", 2),
    ("tv", 2),
    ("co.uk", 1.5),
    ("co.jp", 1),
    ("com.hk", 1.5),
    ("com.tw", 1),
    ("info", 1),
    ("me", 1),
    ("gov.cn", 0.5),
    ("edu.cn", 0.5),
)
IP_FIRST_OCTETS = (58, 59, 60, 61, 101, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120)
IP_FIRST_OCTETS += (121, 122, 123, 124, 125, 180, 182, 183, 202, 211, 218, 220, 221, 222)

#: Host prefixes: the main page host of a site, other page hosts, resource hosts.
MAIN_PREFIXES = ("m.", "www.", "", "wap.", "3g.", "touch.", "h5.", "m.", "www.")
SECTION_PREFIXES = tuple(
    f"{p}."
    for p in _split(
        "news m.news sports m.sports ent finance tech auto mil book v video bbs club i my t s "
        "blog home mail search item list detail.m pay login passport app game photo"
    )
)
RESOURCE_PREFIXES = tuple(
    f"{p}."
    for p in _split("img static img1 img2 img3 pic js css cdn s i1 res image api p mat1 stat hm")
)

#: Words used in paths and queries: sections, search keywords (pinyin), file names.
WORDS = _split(
    "news sports ent finance tech mil auto house edu travel health game video music book photo "
    "world china society local fashion baby women men nba iphone android shouji dianying "
    "xiaoshuo tianqi meishi lvyou qiche fangchan gupiao jijin caipiao xingzuo youxi dongman "
    "zongyi dianshiju gaoxiao meinv junshi keji shuma tiyu zuqiu lanqiu index list detail "
    "main common base app jquery core style login user feed hot top new"
)
DATES = tuple((date(2013, 6, 1) + timedelta(days=i)).strftime("%Y%m%d") for i in range(245))

#: Paths of page URLs per category: {w} word, {n} number, {h} hex token, {d} date, {p} page.
PAGE_TEMPLATES = {
    "portal": (
        "/{w}/{d}/{n}.html",
        "/a/{d}/{n}_0.shtml",
        "/{w}/{h}.html",
        "/n/{w}/{d}/{n}.shtml",
        "/{w}/?page={p}",
        "/article/{n}.html?from=wap",
    ),
    "search": ("/s?wd={w}&pn={p}", "/web?query={w}&page={p}", "/s?q={w}&src=wap&n={n}"),
    "social": ("/u/{n}", "/{h}?from=feed", "/status/{n}", "/group/topic/{n}/", "/question/{n}"),
    "video": ("/v_show/id_{h}.html", "/play/{n}.html", "/{w}/{n}.html?from=wap", "/v/{h}.html"),
    "music": ("/song/{n}", "/album/{n}.html", "/play?id={n}&type={p}", "/{w}/list_{p}.html"),
    "shopping": (
        "/item.htm?id={n}",
        "/product/{n}.html",
        "/list.html?cat={n}&page={p}",
        "/search?keyword={w}&page={p}",
        "/shop/{n}.html",
    ),
    "reading": ("/book/{n}/chapter_{p}.html", "/read/{n}.html", "/{w}/{n}/", "/book/{n}.aspx"),
    "games": ("/flash/{n}.htm", "/{w}/{n}.html", "/game/{h}/", "/news/{d}/{n}.html"),
    "forum": (
        "/thread-{n}-{p}-1.html",
        "/forum-{n}-{p}.html",
        "/post-{w}-{n}-{p}.shtml",
        "/bbs/{n}.html",
    ),
    "apps": ("/apps/{w}/{n}", "/soft/{n}.html", "/download/{h}.apk", "/app/{n}?from=home"),
    "finance": ("/{w}/{d}/{n}.html", "/stock/{n}.html", "/fund/{n}.html", "/m/{w}.do?id={n}"),
    "local": ("/hotel/{n}.html", "/shop/{n}", "/{w}/{n}x.htm", "/deal/{n}.html"),
    "auto": ("/{n}/", "/news/{d}/{n}.html", "/price/series-{n}.html", "/bbs/thread-{n}-{p}.html"),
    "house_jobs": ("/house/{n}.htm", "/job/{n}.html", "/{w}/{p}/", "/newhouse/{n}.html"),
    "life": ("/{w}/{n}.shtml", "/weather/{n}.shtml", "/recipe/{n}/", "/ask/{n}.html"),
    "services": ("/api/{w}/{n}", "/v{p}/{w}?uid={n}", "/{w}.do?id={h}", "/cgi-bin/{w}?uin={n}"),
}
#: Paths of the further requests of a page load (shared by all categories).
RESOURCE_TEMPLATES = (
    "/static/js/{w}.{h}.js",
    "/css/{w}.css?v={n}",
    "/images/{h}.jpg",
    "/{w}/{h}.png",
    "/uploads/{d}/{h}.jpg",
    "/img/{n}_{p}.jpg",
    "/api/{w}?callback=jsonp{n}",
    "/favicon.ico",
    "/{h}.gif",
    "/{h}_{p}.jpg",
)

_KINDS = {"w": 1, "n": 2, "h": 3, "d": 4, "p": 5}
_PLACEHOLDER = re.compile(r"\{([wnhdp])\}")


@dataclass(frozen=True)
class Templates:
    """URL path templates compiled to arrays: literals between up to ``slots`` placeholders."""

    literals: tuple[pa.StringArray, ...]  # one array per literal position
    kind: np.ndarray  # (n_templates, slots): placeholder kind, 0 = none
    page_offset: np.ndarray  # per category: first page template
    page_count: np.ndarray  # per category: number of page templates
    resource_offset: int
    resource_count: int

    @property
    def slots(self) -> int:
        return self.kind.shape[1]

    def choose(self, category, is_page, j, h) -> np.ndarray:
        """Template of each URL: its site's home page, a page template or a resource template."""
        cat = category.astype(np.int64)
        page = self.page_offset[cat] + (h % self.page_count[cat].astype(np.uint64)).astype(np.int64)
        res = self.resource_offset + ((h >> np.uint64(32)) % np.uint64(self.resource_count)).astype(
            np.int64
        )
        return np.where(is_page, np.where(j == 0, 0, page), res)

    def literal(self, template: np.ndarray, position: int) -> pa.StringArray:
        return self.literals[position].take(pa.array(template))


def compile_templates(pages: dict[str, tuple[str, ...]], resources: tuple[str, ...]) -> Templates:
    """Split every template into literals and placeholder kinds (template 0 is the home page)."""
    texts = ["/"]
    offset, count = [], []
    for name in CATEGORIES:
        offset.append(len(texts))
        count.append(len(pages[name]))
        texts.extend(pages[name])
    resource_offset = len(texts)
    texts.extend(resources)
    parts = [_PLACEHOLDER.split(t) for t in texts]  # literal, kind, literal, kind, ...
    slots = max(len(p) // 2 for p in parts)
    literals = [[""] * len(texts) for _ in range(slots + 1)]
    kind = np.zeros((len(texts), slots), dtype=np.int8)
    for i, p in enumerate(parts):
        for k, lit in enumerate(p[0::2]):
            literals[k][i] = lit
        for k, placeholder in enumerate(p[1::2]):
            kind[i, k] = _KINDS[placeholder]
    return Templates(
        literals=tuple(pa.array(col) for col in literals),
        kind=kind,
        page_offset=np.array(offset, dtype=np.int64),
        page_count=np.array(count, dtype=np.int64),
        resource_offset=resource_offset,
        resource_count=len(resources),
    )
