"""Settings read from the environment (SENDMILL_*), with embedded-SQLite defaults."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from engine.installation import SetupError


# Messages a delivery worker keeps in flight at once; also a relay's default `max_connections`
# (engine/delivery/relays.py), so that with the defaults every message of a round has its own connection.
DEFAULT_SEND_CONCURRENCY = 8


def default_data_dir() -> Path:
    """SENDMILL_DATA_DIR, else the platform's per-user data folder (~/.local/share/sendmill on Linux):
    never the current directory, so every process of the installation finds the same database."""
    configured = os.environ.get("SENDMILL_DATA_DIR", "").strip()
    return Path(configured) if configured else Path(platformdirs.user_data_dir("sendmill", appauthor=False))


def legacy_data_dir() -> Path:
    """Where versions before the per-user data folder kept the database and key: ./data."""
    return Path.cwd() / "data"


def default_database_url() -> str:
    """SQLite in the data folder. Refuses to stand in for a database of the old ./data default."""
    data_dir = default_data_dir()
    database = data_dir / "sendmill.db"
    old = legacy_data_dir() / "sendmill.db"
    if not os.environ.get("SENDMILL_DATA_DIR", "").strip() and not database.exists() and old.exists() \
            and old.resolve() != database.resolve():
        raise SetupError(f"found a database at {old}, where earlier versions kept it; the data folder is now "
                         f"{data_dir}: move sendmill.db and secret.key there, or set SENDMILL_DATA_DIR={old.parent}")
    return f"sqlite:///{database}"


def _positive_int(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdecimal() or int(text) < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, not {text!r}")
    return int(text)


def _positive_seconds(name: str, default: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{name} must be a number of seconds above 0, not {text!r}")
    return value
def _domains(name: str) -> tuple[str, ...]:
    from engine.senders.policy import parse_domains

    try:
        return parse_domains(os.environ.get(name, ""))
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


@dataclass(frozen=True)
class Settings:
    database_url: str
    # Signs links and tokens. from_env leaves it "" unless SENDMILL_SECRET_KEY overrides it; bootstrap()
    # then fills in the key stored in the database.
    secret_key: str
    base_url: str = "http://127.0.0.1:8080"
    session_lifetime_days: int = 30
    # Relays in order of preference (engine/delivery/relays.parse_relays); "" = not configured.
    smtp_url: str = ""
    # Domain of VERP return paths; "" = the host of base_url.
    bounce_domain: str = ""
    # Keys retired by a rotation: links already sent still verify, new ones use secret_key.
    previous_secret_keys: tuple[str, ...] = ()
    # Messages a delivery worker keeps in flight at once (one relay connection each).
    send_concurrency: int = DEFAULT_SEND_CONCURRENCY
    # Threads (connections) a journey runner pass splits each action's due rows between (runner.run_pass).
    journey_workers: int = 1
    # DKIM: all three set = every campaign message is signed (d=dkim_domain, s=dkim_selector).
    dkim_selector: str = ""
    dkim_domain: str = ""
    dkim_key_file: str = ""
    # Anonymous calls of a public command per client IP (engine/accounts/ratelimits.RateLimit); None = no
    # limit. from_env defaults to 60/60; Settings built in code (tests) have none unless given.
    public_rate_limit: "RateLimit | None" = None
    # Proxies (addresses or CIDR networks) whose X-Forwarded-For names the client; () = none.
    trusted_proxies: tuple[str, ...] = ()
    # Test sends (Email.EmailPreview, Send Test) an account may make per sliding window.
    test_send_limit: int = 30
    test_send_window_seconds: int = 3600
    # Exports (Subscribers.Export.Post and Campaigns.Export.Post together) a user may submit per rolling hour
    # (engine/audience/export_limit.py).
    exports_per_hour: int = 60
    # Domain of the site-owned From that replaces free-mail and DMARC-strict sender addresses; "" = bounce domain.
    sender_domain: str = ""
    # From domains every account may send as (engine/senders/policy.py; a domain covers its subdomains,
    # ("*",) = any); () = only verified sender emails and the user groups' AllowedSenderDomains.
    allowed_sender_domains: tuple[str, ...] = ()
    # Webhook URLs may point to private, loopback and link-local addresses (receivers inside your network).
    webhook_allow_private: bool = False
    # Time limits of audience statements (engine/audience/time_limit.py): requests (counts, previews,
    # searches, bulk selections) and the tick's ledger write, which may be a big INSERT … SELECT.
    audience_query_timeout: float = 5.0
    tick_audience_query_timeout: float = 120.0
    extra: dict = field(default_factory=dict)

    def dkim_key(self):
        """The configured DKIM key (DkimKey), or None; ValueError names what is wrong with it."""
        if not (self.dkim_selector or self.dkim_domain or self.dkim_key_file):
            return None
        if not (self.dkim_selector and self.dkim_domain and self.dkim_key_file):
            raise ValueError("DKIM needs SENDMILL_DKIM_SELECTOR, SENDMILL_DKIM_DOMAIN and SENDMILL_DKIM_KEY_FILE "
                             "together")
        from engine.delivery.dkim import DkimKey
        try:
            pem = Path(self.dkim_key_file).read_bytes()
        except OSError as exc:
            raise ValueError(f"SENDMILL_DKIM_KEY_FILE cannot be read: {exc}") from None
        return DkimKey(self.dkim_selector, self.dkim_domain, pem)

    @property
    def return_path_domain(self) -> str:
        from urllib.parse import urlsplit
        return self.bounce_domain or urlsplit(self.base_url).hostname or "localhost"

    def signer(self):
        """The one token signer: signs with secret_key, still accepts the retired keys."""
        from engine.tracking.tokens import Signer
        return Signer(self.secret_key, self.previous_secret_keys)

    @classmethod
    def from_env(cls) -> "Settings":
        from engine.accounts.ratelimits import parse_networks, parse_rate_limit

        return cls(
            database_url=os.environ.get("SENDMILL_DATABASE_URL", "").strip() or default_database_url(),
            # "" = the installation's key, which bootstrap() reads from the database (engine/installation.py).
            secret_key=os.environ.get("SENDMILL_SECRET_KEY") or "",
            base_url=os.environ.get("SENDMILL_BASE_URL", "http://127.0.0.1:8080").rstrip("/"),
            session_lifetime_days=_positive_int("SENDMILL_SESSION_LIFETIME_DAYS", 30),
            smtp_url=os.environ.get("SENDMILL_SMTP_URL", "").strip(),
            bounce_domain=os.environ.get("SENDMILL_BOUNCE_DOMAIN", "").strip(),
            send_concurrency=_positive_int("SENDMILL_SEND_CONCURRENCY", DEFAULT_SEND_CONCURRENCY),
            journey_workers=_positive_int("SENDMILL_JOURNEY_WORKERS", 1),
            dkim_selector=os.environ.get("SENDMILL_DKIM_SELECTOR", "").strip(),
            dkim_domain=os.environ.get("SENDMILL_DKIM_DOMAIN", "").strip(),
            dkim_key_file=os.environ.get("SENDMILL_DKIM_KEY_FILE", "").strip(),
            test_send_limit=_positive_int("SENDMILL_TEST_SEND_LIMIT", 30),
            test_send_window_seconds=_positive_int("SENDMILL_TEST_SEND_WINDOW_SECONDS", 3600),
            exports_per_hour=_positive_int("SENDMILL_EXPORTS_PER_HOUR", 60),
            sender_domain=os.environ.get("SENDMILL_SENDER_DOMAIN", "").strip().lower(),
            allowed_sender_domains=_domains("SENDMILL_ALLOWED_SENDER_DOMAINS"),
            webhook_allow_private=os.environ.get("SENDMILL_WEBHOOK_ALLOW_PRIVATE", "").strip().lower()
            in ("1", "true", "yes", "on"),
            previous_secret_keys=tuple(k for k in os.environ.get("SENDMILL_PREVIOUS_SECRET_KEYS", "").split(",")
                                       if k.strip()),
            public_rate_limit=parse_rate_limit(os.environ.get("SENDMILL_PUBLIC_RATE_LIMIT", "60/60")),
            trusted_proxies=parse_networks(os.environ.get("SENDMILL_TRUSTED_PROXIES", "")),
            audience_query_timeout=_positive_seconds("SENDMILL_AUDIENCE_QUERY_TIMEOUT", 5.0),
            tick_audience_query_timeout=_positive_seconds("SENDMILL_TICK_AUDIENCE_QUERY_TIMEOUT", 120.0),
        )
