"""Public campaign archives (Campaigns.Archive.GetURL): a signed link to a page listing the sent campaigns of
one tag, newest first, each linking to its public landing page (engine/campaigns/modern.py).

The link is `<base>/archive/<tag id>-<nonce>-<mac>`: the MAC (the installation's secret key, its own domain
separation) stops anyone walking tag ids, the tag's random nonce stops a link opening another tag that got the
same id (engine/models/link_targets.py says where ids can come back). Deleting the tag ends the link.
"""
from __future__ import annotations

import hashlib
import hmac
import html
import re

from sqlalchemy import select

from engine.accounts.auth import Actor
from engine.errors import TagNotFound
from engine.models import Campaign
from engine.models.campaigns import CampaignTag, Tag
from engine.models.link_targets import new_nonce
from engine.ownership import get_owned
from engine.campaigns.reports import landing_page_url

MAX_CAMPAIGNS = 100
_CODE = re.compile(r"([1-9]\d{0,17})-([0-9a-f]{8})-([0-9a-f]{20})")


def _mac(secret: str, tag_id: str, nonce: str) -> str:
    key = hmac.new(secret.encode(), b"sendmill/campaign-archive/v1", hashlib.sha256).digest()
    return hmac.new(key, f"{tag_id}-{nonce}".encode(), hashlib.sha256).hexdigest()[:20]


class CampaignArchiveService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def url(self, actor: Actor, tag_id: int) -> str:
        tag = get_owned(self.s, Tag, tag_id, actor, TagNotFound, for_update=True)
        if not tag.public_nonce:
            tag.public_nonce = new_nonce()
            self.s.flush()
        settings = self.uow.settings
        code = f"{tag.id}-{tag.public_nonce}-{_mac(settings.secret_key, str(tag.id), tag.public_nonce)}"
        return f"{settings.base_url.rstrip('/')}/archive/{code}"

    def _tag(self, code: str) -> Tag:
        match = _CODE.fullmatch(code or "")
        if match is None:
            raise TagNotFound()
        tag_id, nonce, mac = match.groups()
        settings = self.uow.settings
        if not any(hmac.compare_digest(_mac(secret, tag_id, nonce), mac)
                   for secret in (settings.secret_key, *settings.previous_secret_keys)):
            raise TagNotFound()
        tag = self.s.get(Tag, int(tag_id))
        if tag is None or not tag.public_nonce or not hmac.compare_digest(tag.public_nonce, nonce):
            raise TagNotFound()
        return tag

    def page(self, code: str) -> tuple[str, str]:
        """(title, HTML body: a list of links); TagNotFound for a code we did not sign."""
        tag = self._tag(code)
        campaigns = self.s.scalars(
            select(Campaign).join(CampaignTag, CampaignTag.campaign_id == Campaign.id)
            .where(CampaignTag.tag_id == tag.id, Campaign.owner_user_id == tag.owner_user_id,
                   Campaign.status == "Sent", Campaign.status_reason != "Canceled", Campaign.email_id.is_not(None))
            .order_by(Campaign.send_process_finished_on.desc(), Campaign.id.desc()).limit(MAX_CAMPAIGNS))
        items = []
        for campaign in campaigns:
            when = campaign.send_process_finished_on.date().isoformat() if campaign.send_process_finished_on else ""
            items.append(f'<li><a href="{html.escape(landing_page_url(self.uow.settings, campaign))}">'
                         f'{html.escape(campaign.name)}</a> {html.escape(when)}</li>')
        listing = f"<ul>{''.join(items)}</ul>" if items else "<p>No campaigns have been sent yet.</p>"
        return tag.name, listing
