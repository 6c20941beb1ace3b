"""engine/tracking/public_html.py: what campaign HTML keeps on our public pages (tests/protocol/test_public_pages.py
checks the pages themselves over HTTP)."""
from __future__ import annotations

import pytest

from engine.tracking.public_html import public_page, static_markup


@pytest.mark.parametrize("source", [
    '<META HTTP-EQUIV="Refresh" CONTENT="0; URL=https://evil.example/">',
    '<IFRAME SRC="https://evil.example/"></IFRAME>',
    '<a href="&#106;avascript&#58;steal()">x</a>',
    '<a href="java\tscript:steal()">x</a>',
    '<a href="\x01javascript:steal()">x</a>',
    '<a href="vbscript:steal()">x</a>',
    '<a href="data:image/svg+xml;base64,PHN2Zz4=">x</a>',
    '<img src="data:text/html,steal()">',
    '<img src=" DATA:text/html,steal()">',
    '<div style="width:1px" onmouseover="steal()">x</div>',
    '<form><button formaction="https://evil.example/">x</button></form>',
    '<base href="https://evil.example/">',
    '<object data="https://evil.example/x"></object><embed src="https://evil.example/x">',
    '<svg onload="steal()"><a xlink:href="javascript:steal()">x</a></svg>',
    '<math><maction actiontype="statusline" xlink:href="javascript:steal()">x</maction></math>',
    '<table background="javascript:steal()"><tr><td>x</td></tr></table>',
    '<noscript><p title="</noscript><img src=x onerror=steal()>"></noscript>',
    '<style></style><script>steal()</script>',
    '<a href="https://evil.example/" target="_top">x</a>',
])
def test_active_content_goes(source):
    cleaned = static_markup(source).lower()
    for marker in ("javascript", "vbscript", "steal()", "<meta", "<iframe", "<form", "<button", "<base", "<object",
                   "<embed", "<svg", "<math", "data:text", "data:image/svg", "onload", "onerror", "onmouseover",
                   "target=", "background="):
        assert marker not in cleaned, (source, cleaned)


def test_email_markup_stays():
    source = ('<table width="600" cellpadding="0" bgcolor="#ffffff" align="center"><tr><td colspan="2" '
              'style="font-family:Arial">Hi <b>there</b></td></tr></table><img src="data:image/gif;base64,R0lG" '
              'alt="dot" width="1"><a href="mailto:help@example.com">Help</a><a href="/so/1-abc">Page</a>'
              '<font color="red" face="Arial">Sale</font><style>.x{color:red}</style>')
    cleaned = static_markup(source)
    for kept in ('width="600"', 'cellpadding="0"', 'bgcolor="#ffffff"', 'colspan="2"', 'style="font-family:Arial"',
                 "<b>there</b>", 'src="data:image/gif;base64,R0lG"', 'href="mailto:help@example.com"',
                 'href="/so/1-abc"', 'color="red"', "<style>.x{color:red}</style>"):
        assert kept in cleaned, (kept, cleaned)


def test_a_page_is_a_complete_document_with_our_head_only():
    page = public_page('<html><head><title>T</title><meta http-equiv="refresh" content="0"></head>'
                       '<body bgcolor="red"><p>Hi</p></body></html>')
    assert page.startswith('<!doctype html><html><head><meta charset="utf-8">')
    assert page.endswith("<body><p>Hi</p></body></html>") and "refresh" not in page and "<title>" not in page
