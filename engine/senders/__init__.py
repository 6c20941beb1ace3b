"""Senders: whom mail is from.

sender_emails.py (addresses an account verifies with a code), identity.py (the default sender
details, and the From a campaign really goes out with: a site-owned address for free-mail and
DMARC-strict domains), policy.py (which From addresses an account may use at all: verified ones, and
the domains the installation or the user group allows).
"""
