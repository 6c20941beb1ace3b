"""Public landing-page links of campaigns: `/so/<id>-<nonce>-<mac>`, signed with the installation's key
(and still verified with retired keys), so nobody can walk the campaign ids."""
from __future__ import annotations

import hashlib
import hmac
import re

from engine.models import Campaign

# v2 (with the campaign's public_nonce, engine/models/link_targets.py). Codes of v1, `<id>-<mac>`, name
# an id only and are no longer answered: on SQLite, before revision 0002, one could already name
# another account's campaign that got a deleted campaign's id (README "Security").
_LANDING_CODE = re.compile(r"([1-9]\d{0,17})-([0-9a-f]{8})-([0-9a-f]{20})")


def _landing_mac(secret: str, campaign_id: str, nonce: str) -> str:
    # Domain separation: the same secret signs sessions and tracking tokens.
    key = hmac.new(secret.encode(), b"sendmill/landing-page/v2", hashlib.sha256).digest()
    return hmac.new(key, f"{campaign_id}-{nonce}".encode(), hashlib.sha256).hexdigest()[:20]


def landing_code(settings, campaign: Campaign) -> str:
    """`<id>-<nonce>-<mac>`: names one campaign; the MAC stops anyone from walking the campaign ids, the
    nonce from opening a campaign that later got the same id."""
    campaign_id, nonce = str(campaign.id), campaign.public_nonce
    return f"{campaign_id}-{nonce}-{_landing_mac(settings.secret_key, campaign_id, nonce)}"


def landing_code_campaign(settings, code: str) -> tuple[int, str] | None:
    """The campaign id and nonce a landing-page code names, or None when it was not signed by us."""
    match = _LANDING_CODE.fullmatch(code or "")
    if match is None:
        return None
    campaign_id, nonce, mac = match.groups()
    for secret in (settings.secret_key, *settings.previous_secret_keys):
        if hmac.compare_digest(_landing_mac(secret, campaign_id, nonce), mac):
            return int(campaign_id), nonce
    return None


def landing_page_url(settings, campaign: Campaign) -> str:
    return f"{settings.base_url.rstrip('/')}/so/{landing_code(settings, campaign)}"
