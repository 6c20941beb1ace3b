"""Journeys (v5.9.4 journeys.md, journey-actions.md, criteria-syntax.md; README "Journeys").

Map of the package:
* triggers.py  — the trigger names, which ones Sendmill can observe, ScheduledPull's settings (pure);
* actions.py   — what an action may be: types, parameters, branches, limits (pure);
* tree.py      — saving the action tree and the successor pointers the runner follows; cloning it;
* service.py   — create / read / update / enable / clone / delete journeys, with the owner checks;
* criteria.py  — Run_Criteria, Trigger_Criteria and Decision criteria compiled per list (audience compiler);
* enroll.py    — enrolling subscribers: one INSERT … SELECT per (journey, list), re-entry and rate limits;
* hooks.py     — what the event sites call (subscribed, unsubscribed, tagged, opened, clicked, …);
* waits.py     — when an arriving subscriber is due (Wait, Debug) and Wait's delivery window (pure);
* effects.py   — what each action does to a claimed batch, set-based;
* webhook.py   — the Webhook action: signed, retried POSTs through engine/events, queued in the step;
* runner.py    — the step: claim (compare-and-set), log, effect, move — one transaction per batch; the
                 pass, its due actions, its worker shares;
* passthrough.py — the hot path: a batch leaving an action with no effect (an open Wait) moved and logged
                 in one compare-and-set (one statement on PostgreSQL);
* delivery.py  — mailing the SendEmail ledger: a SendEmail action's message for the automation delivery
                 (engine/automation/sending.py; the ledger's rules: engine/automation/send_ledger.py);
* tracking.py  — opens, clicks, web views, opt-outs, bounces of journey mail: counted on the ledger row, and
                 firing EmailOpen / EmailLinkClick journeys;
* stats.py     — an action's subscribers (engagement filters), per-action / per-ISP figures, the benchmark;
* overview.py  — Journey.Get / List's JourneyStats for a page of journeys (revenue: 0), activity counters;
* engagement.py — what journey mail did: grouped queries over the send ledger's tracking counters;
* days.py      — the account's local days as UTC bounds, and the portable CASE that buckets a row into one;
* pull.py      — one ScheduledPull (scheduler/journeys.py decides when);
* membership.py — Subscriber.Journey.Trigger / Exit / Remove / List;
* copying.py   — Journey.CopyToUser; exports.py — Journey.Export jobs and their CSV.
The models are engine/models/journeys.py; the errors engine/errors/journeys.py.
"""
