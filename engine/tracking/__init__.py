"""Tracking: what happens after a message left, and the public pages that serve it.

tokens.py (signed tokens of open pixels, clicks, unsubscribe and web-view links and VERP addresses,
bound to a per-row nonce), activity.py (recording opens, clicks, web views, opt-outs, bounces and
complaints against the ledger and the counters), public_html.py (campaign HTML as the landing page and
the web view serve it: static markup only).
"""
