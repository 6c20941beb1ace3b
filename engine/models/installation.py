"""Values that belong to the installation as a whole, kept in its database."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, Str, UTCDateTime


class InstallationSecret(Base):
    """A secret every process of the installation shares, e.g. the key that signs tracking links.

    It lives in the database, not in a file beside the process, so a tick or worker started from
    another directory or host signs with the same key as the web app (engine/installation.py).
    The primary key makes the first writer win when two `sendmill init-db` race."""

    __tablename__ = "installation_secrets"

    name: Mapped[str] = mapped_column(Str(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
