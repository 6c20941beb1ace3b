"""Settings read from the environment (SENDMILL_*), with embedded-SQLite defaults."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path


def default_data_dir() -> Path:
    return Path(os.environ.get("SENDMILL_DATA_DIR", Path.cwd() / "data"))


def _secret_key(data_dir: Path) -> str:
    """The signing key: from SENDMILL_SECRET_KEY, else one generated once and kept in the data folder."""
    key = os.environ.get("SENDMILL_SECRET_KEY")
    if key:
        return key
    path = data_dir / "secret.key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    base_url: str = "http://127.0.0.1:8080"
    session_lifetime_days: int = 30
    # Relays in order of preference (engine/delivery/transport.parse_relays); "" = not configured.
    smtp_url: str = ""
    # Domain of VERP return paths; "" = the host of base_url.
    bounce_domain: str = ""
    # Keys retired by a rotation: links already sent still verify, new ones use secret_key.
    previous_secret_keys: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)

    @property
    def return_path_domain(self) -> str:
        from urllib.parse import urlsplit
        return self.bounce_domain or urlsplit(self.base_url).hostname or "localhost"

    def signer(self):
        """The one token signer: signs with secret_key, still accepts the retired keys."""
        from engine.tracking import Signer
        return Signer(self.secret_key, self.previous_secret_keys)

    @classmethod
    def from_env(cls) -> "Settings":
        data_dir = default_data_dir()
        url = os.environ.get("SENDMILL_DATABASE_URL")
        if not url:
            data_dir.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{data_dir / 'sendmill.db'}"
        return cls(
            database_url=url,
            secret_key=_secret_key(data_dir),
            base_url=os.environ.get("SENDMILL_BASE_URL", "http://127.0.0.1:8080").rstrip("/"),
            session_lifetime_days=int(os.environ.get("SENDMILL_SESSION_LIFETIME_DAYS", "30")),
            smtp_url=os.environ.get("SENDMILL_SMTP_URL", "").strip(),
            bounce_domain=os.environ.get("SENDMILL_BOUNCE_DOMAIN", "").strip(),
            previous_secret_keys=tuple(k for k in os.environ.get("SENDMILL_PREVIOUS_SECRET_KEYS", "").split(",")
                                       if k.strip()),
        )
