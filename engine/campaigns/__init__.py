"""Campaigns: what is sent, to whom, and when.

service.py (creation, editing, the status machine, copies, listing, deletion), emails.py (the
content records campaigns point at), approval.py (what an administrator approved of an Untrusted
account's campaign, and holding back the rest), scheduling.py (send instances, the delivery ledger
write, the modern publish / reschedule / pause-scheduling operations), modern.py (the modern
operations the legacy chapter has no command for), reports.py (status mapping, statistics,
recipients by activity), events.py (the modern campaign events written to the outbox), tags.py
(campaign tags), test_sends.py (one message rendered by the delivery pipeline to one address),
automated_reports.py (scheduled campaign summaries: settings and periods) and report_mail.py (mailing
them once per period).
"""
