"""Turning user-written Markdown into safe HTML, and plain-text helpers for public text."""

from __future__ import annotations

import re
import unicodedata

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

# Raw HTML in Markdown is switched off, and the output is sanitised again anyway, so a
# parser bug cannot smuggle a script into a campaign page.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_markdown.disable("image")

ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "ul",
    "ol",
    "li",
    "blockquote",
    "h2",
    "h3",
    "h4",
    "a",
    "code",
    "pre",
    "hr",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}


def render_markdown(source: str) -> Markup:
    html = _markdown.render(source or "")
    # Headings of level 1 belong to the page; demote them so the outline stays valid.
    html = html.replace("<h1>", "<h2>").replace("</h1>", "</h2>")
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    )
    return Markup(cleaned)  # noqa: S704 - sanitised by nh3 just above


def plain_text(source: str) -> str:
    """Strip every tag; used for summaries, meta descriptions and feeds."""
    return nh3.clean(source or "", tags=set()).strip()


_slug_strip = re.compile(r"[^a-z0-9]+")


def slugify(text: str, *, max_length: int = 60) -> str:
    """A readable ASCII slug; titles with no Latin letters give an empty string."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = _slug_strip.sub("-", ascii_text.lower()).strip("-")
    return slug[:max_length].rstrip("-")


# Han ideographs: CJK Unified Ideographs, Extension A, Compatibility, Extensions B-H.
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_LATIN_LETTER = re.compile("[A-Za-z]")


def written_language(text: str) -> str | None:
    """The language a short public text is written in, as far as Giving needs to say so:
    ``zh`` when it has any Chinese character, ``en`` when it has Latin letters and none, and
    None when it has neither (digits, punctuation), which any language can claim."""
    if _HAN.search(text):
        return "zh"
    if _LATIN_LETTER.search(text):
        return "en"
    return None
