"""Events: telling the outside world what happened.

outbox.py (domain events recorded in the transaction that makes the change), webhooks.py (endpoints,
the fan-out and claim queries, the signed event bodies), webhook_dispatch.py (a delivery pass: fan out,
claim, POST, settle with retries), webhook_http.py (the POST itself:
direct connections only, no redirects), public_address.py (the one rule for which IP addresses are
public, applied when an endpoint is registered and when it is dialled).
"""
