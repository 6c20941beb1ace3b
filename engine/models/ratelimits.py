"""Request counters of the per-client rate limits, shared by every worker process and host."""
from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, Str


class RateLimitCounter(Base):
    """How many requests one client made to one bucket in one fixed window.

    The limit lives in the database, not in process memory, so gunicorn workers and hosts behind
    one load balancer count together. The composite primary key is what the upsert conflicts on.
    """

    __tablename__ = "rate_limit_counters"
    __table_args__ = (
        # Expired windows are purged by a range delete on this column.
        Index("ix_rate_limit_counters_window_start", "window_start"),
    )

    bucket: Mapped[str] = mapped_column(Str(64), primary_key=True)
    client: Mapped[str] = mapped_column(Str(64), primary_key=True)  # an IPv4 or IPv6 address
    # Start of the window in whole seconds since the epoch (UTC).
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hits: Mapped[int] = mapped_column(Integer, default=0)
