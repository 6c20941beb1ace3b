"""Start tags and their attributes in user-supplied HTML, found in linear time.

personalize finds URL attributes with them, links the links to track, compose and events where
`<body>` starts and which `<` open a complete tag.
"""
from __future__ import annotations

import re

_TAG_RUN = re.compile(r"[^>\"']*")
# An attribute name starts only after a separator (the lookbehind), so no name run is rescanned.
_HTML_ATTR = re.compile(r"""(?<![^\s"'>/=])([^\s"'>/=]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+))""")


def html_start_tags(src: str):
    """(start, end) of every start tag `<name …>`, quoted `>` respected.

    One linear pass: content is user input, and the obvious regular expression for a tag is
    quadratic on text like `<a <a <a …`. A quote that never closes ends the scan, as it hides
    the rest of the document from a browser too.
    """
    pos, n = 0, len(src)
    while (lt := src.find("<", pos)) >= 0:
        if not src[lt + 1:lt + 2].isalpha():
            pos = lt + 1
            continue
        i = lt + 1
        while True:
            i = _TAG_RUN.match(src, i).end()
            if i >= n:
                return
            if src[i] == ">":
                break
            close = src.find(src[i], i + 1)
            if close < 0:
                return
            i = close + 1
        yield lt, i + 1
        pos = i + 1


def html_attributes(src: str, start: int, end: int):
    """(lower-case name, value group index, match) of each `name=value` in the tag at src[start:end]."""
    for attr in _HTML_ATTR.finditer(src, start, end - 1):
        yield attr.group(1).lower(), next(g for g in (2, 3, 4) if attr.group(g) is not None), attr
