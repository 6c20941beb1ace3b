"""Delivery: turning one campaign into one message per recipient, and sending it.

Content: personalize.py (the legacy `%…%` and `{{ }}` tags -> compiled templates; tag_compiler.py,
tag_names.py, tag_modifiers.py, php_format.py, compiled_template.py, html_scan.py behind it),
inline_css.py (`<style>` rules into `style` attributes, once per skeleton),
links.py (click and open tracking), compose.py (the per-campaign MIME skeleton and per-recipient
bytes; mime_headers.py, mime_bodies.py and html_text.py behind it), dkim.py (signing), skeletons.py
(a send instance's skeleton, built once; one per variation email of an A/B campaign).

Sending: runner.py (claim, check, render, hand over, send, record), claims.py (claiming batches and the
lease-expiry rule), flight.py (a round with the relays: hand-over only on a connection), recipients.py
(who may be mailed now), ledger.py (the ledger writes of a round; ledger_pipeline.py the same in one round
trip on PostgreSQL), in_doubt.py (the deliveries left `unknown`), relays.py (SENDMILL_SMTP_URL),
transport.py (the SMTP pool), smtp_transaction.py and smtp_wire.py (the mail transaction, its envelope
sent ahead to a pipelining relay; non-blocking conversations on one selector), ratelimit.py and
throttle_state.py (relay and domain rates, kept across restarts), one_off.py (a single message outside the
ledger: test sends, opt-in confirmations), delivery_test.py (Email.Delivery.Test: one message to the
administrator through the relay, now).
"""
