"""Accounts: who may do what.

users.py (administrators, users, user groups and their permissions and limits), auth.py (login
sessions, API keys, and the Actor a request acts as), passwords.py (argon2id password hashes, upgraded
at login when their cost parameters are old), email_account.py (the modern
email-marketing account: its status and monthly quotas), ratelimits.py (the per-client limits of the
public commands, counted in the database), administration.py (Admin.Update, Users.Status),
credential_use.py (how often a session's or key's use is written), password_reset.py (lost passwords: signed
single-use reset tokens, rate-limited reminders), account_mail.py
(mail to an account holder, delivered off the request), two_factor.py and totp.py (users' TOTP two-factor login), usage.py (what
accounts use: User.Stats' figures and series, per-account usage and feature counts, bulk emails-sent metering),
snapshots.py (User.Snapshot: one account's figures for one month).
"""
