"""Audience: the people a sender mails, and how they are chosen.

Lists and people: lists.py, subscribers.py (the public subscribe / confirm / unsubscribe flow and the
owner's edits), list_membership.py (the columns entering and leaving a list sets), confirmations.py
(double opt-in mails and their links), subscriber_search.py, subscriber_bulk.py (many subscribers by
criteria), subscriber_field_bulk.py (Subscribers.Update: custom-field values of many subscribers at once),
list_integrations.py (a list's integration URLs: list-scoped webhooks, and its form HTML), list_copies.py
(CustomFields.Copy, Segments.Copy), subscriber_tags.py and tag_import.py (per-list tags), custom_fields/ (definitions, value
rules, stored values), suppression.py, email_subscriptions.py (the account-wide status of an address),
subscriber_sessions.py (the subscriber area's signed, expiring sessions and the lists they show),
importer.py and csv_records.py (streamed CSV imports), import_mapping.py (header, dialect, column mapping),
import_batch.py (one import's counters and batch writer); import_jobs.py (imports as jobs: upload, mapping,
small files at once), import_uploads.py (the stored upload), import_runner.py (the tick's and worker's
batches, resumable), import_hooks.py (what a batch of newly Subscribed subscribers triggers).
list_lifecycle.py (archiving, cloning, a list's assets in one read, emptying a list set-based),
subscriber_create.py (Subscriber.Create: the owner writes one subscriber as it is).

Reports: subscriber_reports.py (Subscriber.Exists, one subscriber's activity: Subscriber.Get.Activity and
the console's history, the RulesJSON search), exports.py (export jobs and the streamed CSV / JSON of a list
or segment), export_limit.py (how many exports a user may submit an hour), list_analytics.py (the
per-list statistics, series and breakdowns, each one GROUP BY).

Criteria: rules.py and catalog.py (RulesJson → a validated AST), regex.py (the portable `matches
regex` subset and its cost bound), compiler.py and sqlfuncs.py (the AST → SQL, alike on SQLite,
PostgreSQL and MariaDB), segments.py (named criteria), service.py (who a segment or a campaign
selects), time_limit.py (every audience statement runs under a time limit).
"""
