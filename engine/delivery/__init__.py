"""Delivery: turning one campaign into one message per recipient, and sending it.

personalize.py (tags -> compiled templates), links.py (click and open tracking), compose.py (the
per-campaign MIME skeleton and per-recipient bytes), dkim.py (signing).
"""
