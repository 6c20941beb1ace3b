"""Campaigns: what is sent, to whom, and when.

service.py (creation, editing, the status machine, copies, listing, deletion), emails.py (the
content records campaigns point at), approval.py (what an administrator approved of an Untrusted
account's campaign, holding back the rest, and the queue of campaigns waiting), scheduling.py (send
instances, the delivery ledger write, the modern publish / reschedule / pause-scheduling operations),
modern.py (the modern operations the legacy chapter has no command for), reports.py (status mapping,
statistics, recipients by activity), report_details.py (the console's report: figures from one pass
over the ledger, live progress, opens and clicks over time, clicks per link, recipients by domain),
events.py (the modern campaign events written to the outbox), tags.py (campaign tags), test_sends.py
(one message rendered by the delivery pipeline to one address).
"""
