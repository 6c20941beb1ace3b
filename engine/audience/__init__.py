"""Audience: the people a sender mails, and how they are chosen.

Lists and people: lists.py, subscribers.py (the public subscribe / confirm / unsubscribe flow and the
owner's edits), list_membership.py (the columns entering and leaving a list sets), confirmations.py
(double opt-in mails and their links), subscriber_search.py, subscriber_history.py (what happened to
one subscriber, campaign by campaign), subscriber_bulk.py (many subscribers by criteria),
subscriber_tags.py and tag_import.py (per-list tags), custom_fields/ (definitions, value rules, stored
values), suppression.py, email_subscriptions.py (the account-wide status of an address),
importer.py and csv_records.py (streamed CSV imports).

Criteria: rules.py and catalog.py (RulesJson → a validated AST), regex.py (the portable `matches
regex` subset and its cost bound), compiler.py and sqlfuncs.py (the AST → SQL, alike on SQLite,
PostgreSQL and MariaDB), segments.py (named criteria), service.py (who a segment or a campaign
selects), time_limit.py (every audience statement runs under a time limit).
"""
