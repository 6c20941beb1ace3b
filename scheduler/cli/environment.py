"""The environment variables `sendmill --help` lists: every SENDMILL_* that engine/config.py or a command
reads (tests/scheduler/test_cli_setup.py fails when one is missing). README.md explains them at length."""
from __future__ import annotations

import textwrap

VARIABLES = (
    ("SENDMILL_DATABASE_URL", "database: sqlite:////path/sendmill.db, postgresql+psycopg://USER@HOST/DB or "
                              "mysql+pymysql://USER@HOST/DB (default: SQLite in the data folder)"),
    ("SENDMILL_DATA_DIR", "the data folder (default: the per-user data folder, ~/.local/share/sendmill on Linux)"),
    ("SENDMILL_SECRET_KEY", "overrides the signing key init-db keeps in the database"),
    ("SENDMILL_PREVIOUS_SECRET_KEYS", "comma-separated retired signing keys that still verify"),
    ("SENDMILL_BASE_URL", "public address used in links (default http://127.0.0.1:8080)"),
    ("SENDMILL_SMTP_URL", "relays to send through, smtp://[USER:PASS@]HOST[:PORT][?starttls=1...], "
                          "comma-separated (none: nothing is sent)"),
    ("SENDMILL_SEND_CONCURRENCY", "messages a worker keeps in flight (default 8)"),
    ("SENDMILL_JOURNEY_WORKERS", "connections a journey pass moves each action's due rows on at once (default 1; "
                                 "the database's cores on PostgreSQL)"),
    ("SENDMILL_BOUNCE_DOMAIN", "domain of the bounce+TOKEN@ return paths (default: host of the base URL)"),
    ("SENDMILL_SENDER_DOMAIN", "domain of the site-owned From (default: the bounce domain)"),
    ("SENDMILL_DKIM_SELECTOR", "DKIM selector (with the next two: every message is signed)"),
    ("SENDMILL_DKIM_DOMAIN", "DKIM signing domain"),
    ("SENDMILL_DKIM_KEY_FILE", "PEM file of the DKIM private key"),
    ("SENDMILL_SESSION_LIFETIME_DAYS", "days a login session lives without use (default 30)"),
    ("SENDMILL_PUBLIC_RATE_LIMIT", "anonymous calls per client IP, REQUESTS/SECONDS or off (default 60/60)"),
    ("SENDMILL_TRUSTED_PROXIES", "proxies whose X-Forwarded-For names the client (addresses, CIDR networks)"),
    ("SENDMILL_TEST_SEND_LIMIT", "test messages an account may send per window (default 30)"),
    ("SENDMILL_TEST_SEND_WINDOW_SECONDS", "that window in seconds (default 3600)"),
    ("SENDMILL_EXPORTS_PER_HOUR", "subscriber and campaign exports a user may submit per rolling hour (default 60)"),
    ("SENDMILL_AUDIENCE_QUERY_TIMEOUT", "seconds an audience statement of a request may run (default 5)"),
    ("SENDMILL_TICK_AUDIENCE_QUERY_TIMEOUT", "seconds the tick's ledger write of one campaign may run before it "
                                             "is postponed (default 120)"),
    ("SENDMILL_ALLOWED_SENDER_DOMAINS", "From domains every account may send as besides its verified sender "
                                        "emails, comma-separated (* = any From; default none)"),
    ("SENDMILL_WEBHOOK_ALLOW_PRIVATE", "1: webhook URLs may point to private addresses"),
    ("SENDMILL_ADMIN_USERNAME", "the administrator `sendmill up` makes sure of (default admin)"),
    ("SENDMILL_ADMIN_PASSWORD", "its password for create-admin and up (default: generated, printed once)"),
)


def help_epilog() -> str:
    """The table for the group's help; `\\b` keeps click from re-wrapping it into one paragraph."""
    width = max(len(name) for name, _ in VARIABLES)
    lines = []
    for name, meaning in VARIABLES:
        first, *rest = textwrap.wrap(meaning, 96 - width)
        lines += [f"  {name:<{width}}  {first}", *(f"  {'':<{width}}  {more}" for more in rest)]
    return ("\b\nEnvironment:\n" + "\n".join(lines) + "\n\n"
            "Exit status 2: the configuration or the database is not usable (one line on stderr says what to do).")
