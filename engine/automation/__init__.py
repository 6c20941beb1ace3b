"""Automation: autoresponders (v5.9.4 autoresponders.md; README "Autoresponders").

Map of the package:
* triggers.py  — what a trigger, its values, a delay and a Repeat pattern may be (pure; the meaning of
                 every trigger value is written there);
* service.py   — creating, updating, duplicating, copying and deleting autoresponders, with the owner
                 checks and the rules a stored autoresponder keeps;
* queries.py   — finding them (one list, or every list of the owner), filtered, ordered, paged;
* activity.py  — what the send ledger (`autoresponder_sends`) says: activity rows and windowed counters;
* send_test.py — a test copy of an autoresponder's email through the test-send pipeline;
* schedule.py  — when sends are due: delays, Repeat, DST, month ends, 29 February (pure);
* enqueue.py   — triggers → ledger rows: the one-line entry points event sites call (`on_subscribed`,
                 `on_opened`, `on_clicked`, `on_left`) and the tick's date pass (`enqueue_date_triggers`);
* list_triggers.py — whether an account has an Enabled automation a subscription or an opt-out starts
                 (`users.list_triggers`): event sites skip the lookups when it has none;
* send_ledger.py — an automation ledger's state changes as workers send: claim, hand-over, record, lease
                 expiry (autoresponder_sends and journey_sends, one AutomationLedger each);
* sending.py   — what a delivery worker does with due rows: send-time checks, compose, send, record
                 (AutomationDelivery, shared with journeys/delivery.py);
* tracking.py  — opens, clicks, opt-outs, bounces and complaints of autoresponder mail, credited to the
                 ledger row and the autoresponder's counters;
* errors.py    — what can go wrong;
* journeys/    — journeys: triggers, action trees, enrollments, set-based progression (its own map).

README "Autoresponders" says how sending works and every decision taken where the spec is silent.
"""
