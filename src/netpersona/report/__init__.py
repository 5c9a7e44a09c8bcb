"""Figures (matplotlib ``Figure`` objects, no pyplot) and the self-contained HTML report."""

from netpersona.report._html import HtmlReport

__all__ = ["HtmlReport"]
