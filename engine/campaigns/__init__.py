"""Campaigns: what is sent, to whom, and when.

service.py (creation, editing, the status machine, deletion), listing.py (Campaigns.Get's filters and
orderings), copies.py (Campaign.Copy and the modern Reuse, variations and split test included),
campaign_view.py (a campaign read as tuples to be shown: Campaign.Get's hot path), emails.py (the
content records campaigns point at), approval.py (what an administrator approved of an Untrusted
account's campaign, holding back the rest, and the queue of campaigns waiting), scheduling.py (send instances, the delivery ledger
write, the modern publish / reschedule / pause-scheduling operations), ledgers.py (deleting the ledgers
of deleted campaigns: deliveries.instance_id has no foreign key), modern.py (the modern
operations the legacy chapter has no command for), modern_status.py (the modern statuses derived
from the legacy ones), landing_pages.py (signed landing-page links), reports.py (cards, statistics,
recipients by activity, throughput, the legacy ratio strings), report_details.py (the console's report: figures from one pass
over the ledger, live progress, opens and clicks over time, clicks per link, recipients by domain),
link_reports.py (clicks per link or person, who did what on a sent campaign,
the status counts of the campaign sidebar), exports.py (the Campaigns.Export job's rows), events.py (the
modern campaign events written to the outbox), tags.py (campaign tags), archive.py (a tag's signed public archive page),
personalization_tags.py (the tags an email may use, by scope), test_sends.py (one message
rendered by the delivery pipeline to one address), templates.py (gallery email templates, and building
an email from one), user_templates.py (an account's own email templates: emails rows marked as
templates), template_preview.py (a user template rendered with sample subscriber data), variations.py
(A/B email variations), split_tests.py (the A/B ledger of a send, the split test and its winner),
ab_reports.py (what each variation did, totals and winner included), automated_reports.py (scheduled
campaign summaries: settings and periods) and report_mail.py (mailing them once per period).
retry_failed.py (Admin.Campaign.RetryFailed: a finished send's failed ledger rows back to pending, once),
email_render.py (Email.Render / Email.Smtp.Render: an email as one subscriber gets it, nothing sent).
"""
