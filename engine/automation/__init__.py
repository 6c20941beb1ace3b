"""Automation: autoresponders (v5.9.4 autoresponders.md; README "Autoresponders").

Map of the package:
* triggers.py  — what a trigger, its values, a delay and a Repeat pattern may be (pure; the meaning of
                 every trigger value is written there);
* service.py   — creating, updating, duplicating, copying and deleting autoresponders, with the owner
                 checks and the rules a stored autoresponder keeps;
* queries.py   — finding them (one list, or every list of the owner), filtered, ordered, paged;
* activity.py  — what the send ledger (`autoresponder_sends`) says: activity rows and windowed counters;
* send_test.py — a test copy of an autoresponder's email through the test-send pipeline;
* errors.py    — what can go wrong;
* journeys/    — journeys: triggers, action trees, enrollments, set-based progression (its own map).

Not built yet: the sending side (triggers → ledger rows → workers). An Enabled autoresponder is stored
and listed, but nothing enqueues or mails it; the models (engine/models/automation.py) carry what that
side needs (`enabled_at`, the ledger's unique occurrence key, its states and lease).
"""
