"""A self-contained HTML report: figures embedded as PNG data, no network, opens offline.

Each figure is also saved as a PNG beside the HTML page, so it can be pasted into slides.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netpersona._core import atomic_output, check_writable

_CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{border-bottom:2px solid #2b6cb0;padding-bottom:.2em}h2{margin-top:1.6em;color:#2b6cb0}
table{border-collapse:collapse;margin:.8em 0}th,td{border:1px solid #ccc;padding:.25em .6em;
text-align:right}th{background:#eef3fa}td:first-child,th:first-child{text-align:left}
figure{margin:1em 0}figcaption{color:#555;font-size:.9em}img{max-width:100%}
.note{background:#fffbea;border-left:4px solid #e0b000;padding:.4em .8em}
footer{margin-top:3em;color:#777;font-size:.85em}
"""


@dataclass
class HtmlReport:
    """Build a report section by section, then :meth:`write` it.

    >>> page = HtmlReport('Tiers').heading('Shares')
    >>> page = page.table(['tier', 'users'], [['vip', 16], ['growth', 34]])
    >>> html = page.render()
    >>> '<h2>Shares</h2>' in html, '<td>vip</td>' in html, 'http' in html
    (True, True, False)
    """

    title: str
    _parts: list[str] = field(default_factory=list)
    _figures: list[tuple[str, bytes]] = field(default_factory=list)

    def heading(self, text: str, level: int = 2) -> HtmlReport:
        self._parts.append(f"<h{level}>{html.escape(text)}</h{level}>")
        return self

    def paragraph(self, text: str, note: bool = False) -> HtmlReport:
        cls = ' class="note"' if note else ""
        self._parts.append(f"<p{cls}>{html.escape(text)}</p>")
        return self

    def table(self, header: list[str], rows: list[list[Any]], caption: str | None = None):
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>"
            for row in rows
        )
        cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
        self._parts.append(
            f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )
        return self

    def figure(self, fig, name: str, caption: str = "") -> HtmlReport:
        """Embed a matplotlib figure (and keep its PNG to write beside the page).

        Build figures with ``matplotlib.figure.Figure()`` rather than pyplot: no GUI backend,
        no global state, nothing to close.
        """
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        png = buf.getvalue()
        self._figures.append((f"{name}.png", png))
        data = base64.b64encode(png).decode("ascii")
        self._parts.append(
            f'<figure><img alt="{html.escape(caption or name)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
        return self

    def render(self) -> str:
        from netpersona._version import __version__

        body = "\n".join(self._parts)
        return (
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{html.escape(self.title)}</h1>{body}"
            f"<footer>netpersona {__version__}. Subscriber ids shown masked.</footer></body></html>"
        )

    def write(self, path: str | Path, force: bool = False) -> Path:
        """Write the page to ``path`` and each figure as ``<stem>_<name>.png`` beside it."""
        path = Path(path)
        targets = [path.with_name(f"{path.stem}_{n}") for n, _ in self._figures]
        for target in (path, *targets):
            check_writable(target, force)
        for target, (_, png) in zip(targets, self._figures, strict=True):
            with atomic_output(target, force=force) as tmp:
                tmp.write_bytes(png)
        with atomic_output(path, force=force) as tmp:
            tmp.write_text(self.render(), encoding="utf-8")
        return path


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
