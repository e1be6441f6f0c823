"""The HTML page of a report: one self-contained file a strategist can mail.

The page carries its charts inside it, as PNG ``data:`` URIs, so it needs no file
beside it, no network and no script: it opens the same from an attachment, a
download folder or a printer queue. Its style sheet lays it out for a screen (one
column, charts as wide as the text) and for A4 paper (``@page { size: A4 }``; each
chart scaled to the page width and kept on one page with its title and caption,
``break-inside: avoid``).

:func:`html_page` writes the page with each chart's ``<img src="NAME.png">``;
:func:`embed_charts` then puts the charts in. The two steps let a report whose
charts were drawn by several processes (``render_report(..., part, parts)``) be
finished after they are merged (:func:`frictionsim.results.drawing.merge_parts`).
This module is plain text: it imports no matplotlib, so that finishing a page
does not load it.

The page's words are the report's Markdown's: a line ``**like this**`` becomes
bold, everything else is escaped (scenario and step names are the user's text).
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Mapping, Sequence

#: The ``generator`` of a page frictionsim writes in a results folder.
GENERATOR = "frictionsim"

#: One chart of a page: file name, title, caption and size in pixels.
PageChart = tuple[str, str, str, tuple[int, int]]

#: The style sheet: one readable column on a screen; A4 pages on paper, each chart the
#: width of the page and never split from its title or across two pages.
STYLE = """\
body { font-family: "Helvetica Neue", Helvetica, Arial, "Liberation Sans", sans-serif;
  color: #1a1a1a; line-height: 1.45; max-width: 62rem; margin: 2rem auto; padding: 0 1.5rem; }
h1 { font-size: 1.7rem; line-height: 1.2; margin: 0 0 0.4rem; }
h2 { font-size: 1.15rem; margin: 0 0 0.3rem; }
.facts { margin: 0; color: #333; font-weight: 600; }
.about { margin: 0.2rem 0 0; color: #555; font-size: 0.92rem; }
.key { margin: 1.2rem 0 1.6rem; padding: 0.7rem 1.2rem 0.6rem; background: #eef4fa;
  border-left: 5px solid #0072B2; }
.key ul { margin: 0.3rem 0 0.2rem; padding-left: 1.2rem; }
.key li { margin: 0.3rem 0; }
figure { margin: 0 0 1.8rem; }
figcaption p { margin: 0 0 0.5rem; color: #444; }
figure img { display: block; width: 100%; height: auto; border: 1px solid #ddd; }
@page { size: A4; margin: 12mm 12mm 14mm; }
@media print {
  body { max-width: none; margin: 0; padding: 0; font-size: 10pt; }
  .key { -webkit-print-color-adjust: exact; print-color-adjust: exact; break-inside: avoid; }
  h1, h2, figcaption { break-after: avoid; page-break-after: avoid; }
  figure { margin: 0 0 7mm; break-inside: avoid; page-break-inside: avoid; }
  figure img { max-height: 235mm; object-fit: contain; border: none; }
}
"""


def data_uri(png: bytes) -> str:
    """A PNG as a ``data:`` URI, for an ``<img src>`` that needs no file."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def inline(text: str) -> str:
    """A line of the report in HTML: escaped, ``**bold**`` in ``<strong>``."""
    parts = html.escape(text, quote=False).split("**")
    return "".join(f"<strong>{p}</strong>" if i % 2 else p for i, p in enumerate(parts))


def html_page(
    title: str,
    facts: str,
    about: str,
    lines: Sequence[str],
    figures: Sequence[PageChart],
    generator: str = GENERATOR,
) -> str:
    """The page: ``title``; ``facts`` (what was run: scenario, seed, replications,
    version), ``about`` (what the figures are), the key numbers (``lines``) and a
    figure per chart, each ``<img src>`` still the chart's file name
    (:func:`embed_charts` inlines them). ``generator`` names the program in the page's
    ``<meta name="generator">``."""
    e = html.escape
    items = "".join(f"<li>{inline(line)}</li>\n" for line in lines)
    key = f'<section class="key">\n<h2>Key numbers</h2>\n<ul>\n{items}</ul>\n</section>\n'
    shown = "".join(
        f"<figure>\n<figcaption>\n<h2>{e(t)}</h2>\n<p>{e(c)}</p>\n</figcaption>\n"
        f'<img src="{e(f)}" alt="{e(t)}" width="{w}" height="{h}">\n</figure>\n'
        for f, t, c, (w, h) in figures
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="generator" content="{e(generator)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{e(title)}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n"
        f"<header>\n<h1>{e(title)}</h1>\n"
        f'<p class="facts">{inline(facts)}</p>\n<p class="about">{inline(about)}</p>\n'
        f"</header>\n{key if lines else ''}{shown}</body>\n</html>\n"
    )


_CHART_SOURCE = re.compile(r'<img src="([^"<>]+\.png)"')


def embed_charts(page: str, charts: Mapping[str, bytes]) -> str:
    """``page`` with the ``<img src="NAME.png">`` of every chart in ``charts`` (file
    name → PNG bytes) replaced by the chart itself (:func:`data_uri`); the others are
    left as they are, so a page can be finished in steps."""

    def inlined(m: re.Match[str]) -> str:
        name = html.unescape(m[1])
        return f'<img src="{data_uri(charts[name])}"' if name in charts else m[0]

    return _CHART_SOURCE.sub(inlined, page)


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height in pixels of PNG bytes (from its header)."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


__all__ = [
    "GENERATOR",
    "STYLE",
    "PageChart",
    "data_uri",
    "embed_charts",
    "html_page",
    "inline",
    "png_size",
]
