"""Rows that public links name, and how a link proves it was made for the row it names.

A public link carries a row's id, which the database never hands out twice (engine/db.never_reuse_ids),
and, signed together with it, the row's random `public_nonce`. Resolving a link compares the two
nonces, so a link opens only the row it was made for, even where an id did come back: a database
rebuilt or restored with the same secret key, or an id SQLite reused before revision 0002.

Rows that links name: campaigns (their landing page, and every tracking link of a campaign message
through the message's send instance), subscribers (the links of an opt-in confirmation email, which
name no campaign) and email subscriptions (the account-wide unsubscribe link).
"""
from __future__ import annotations

import hmac
import secrets

from sqlalchemy import Boolean
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Str

NONCE_HEX_DIGITS = 8   # 32 random bits: engine/tracking/tokens.NONCE_BYTES says why


def new_nonce() -> str:
    return secrets.token_hex(NONCE_HEX_DIGITS // 2)


class LinkTarget:
    """Mixin for a model that public links name."""

    public_nonce: Mapped[str] = mapped_column(Str(NONCE_HEX_DIGITS), default=new_nonce)
    # True only for rows that existed when revision 0002 added nonces: links signed before it carry
    # no nonce and still open these rows (unsubscribe links already mailed must keep working), never
    # a row made since. README "Security" says why and what that leaves open.
    legacy_links: Mapped[bool] = mapped_column(Boolean, default=False)

    def made_for(self, nonce: str | None) -> bool:
        """Whether a link carrying `nonce` (None: signed before nonces) was made for this row."""
        if nonce is None:
            return bool(self.legacy_links)
        return hmac.compare_digest(self.public_nonce, nonce)
