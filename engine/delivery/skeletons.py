"""What a send instance's messages share: the skeleton built once from the campaign's email (one per
variation email for an A/B campaign)."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from engine.delivery.compose import Content, Sending, Skeleton, build_skeleton
from engine.models import Campaign, CustomField, Email, User
from engine.senders.policy import campaign_from, refusal


@dataclass
class PreparedInstance:
    skeleton: Skeleton | None
    error: str = ""                       # why the content cannot be rendered (every row then fails)
    owner_id: int = 0
    list_names: dict[int, str] = field(default_factory=dict)   # filled as recipients are loaded

    @property
    def needs(self) -> frozenset[str]:
        """The personalisation values its messages use (none when it cannot be rendered)."""
        return self.skeleton.needs if self.skeleton is not None else frozenset()


def prepare_instance(s, settings, signer, bounce_domain: str, instance_id: int, campaign_id: int,
                     email_id: int | None = None) -> PreparedInstance:
    """`email_id`: an A/B variation's email (its ledger rows'); None = the campaign's email."""
    campaign = s.get(Campaign, campaign_id)
    email_id = email_id or campaign.email_id
    email = s.get(Email, email_id) if email_id else None
    owner = s.get(User, campaign.owner_user_id)
    prepared = PreparedInstance(skeleton=None, owner_id=campaign.owner_user_id)
    if email is None:
        prepared.error = "the campaign has no email"
        return prepared
    aliases = {f.merge_tag_alias.lower(): f.id for f in s.scalars(
        select(CustomField).where(CustomField.owner_user_id == campaign.owner_user_id,
                                  CustomField.merge_tag_alias != ""))}
    constants = {"Campaign:Name": campaign.name, "User:UserID": owner.id,
                 "User:FirstName": owner.first_name, "User:LastName": owner.last_name,
                 "User:EmailAddress": owner.email_address, "User:CompanyName": owner.company_name,
                 "User:TimeZone": owner.time_zone}
    from_email = campaign_from(email, owner)
    # Checked again here, not only when armed and started: the email may have been edited since, and a
    # message must never leave under a From the account may not use (its rows fail instead).
    prepared.error = refusal(s, settings, owner.id, from_email)
    if prepared.error:
        return prepared
    content = Content(subject=email.subject, from_email=from_email,
                      from_name=email.from_name, reply_to_email=email.reply_to_email,
                      reply_to_name=email.reply_to_name, html=email.html_content,
                      text=email.plain_content, pre_header=email.pre_header_text,
                      open_tracking=email.open_tracking, link_tracking=email.link_tracking)
    try:
        sending = Sending(signer=signer, base_url=settings.base_url, bounce_domain=bounce_domain,
                          campaign_id=campaign.id, instance_id=instance_id, link_nonce=campaign.public_nonce,
                          constants=constants, aliases=aliases,
                          dkim=settings.dkim_key())
        prepared.skeleton = build_skeleton(content, sending)
    except ValueError as exc:
        prepared.error = f"the campaign's email cannot be built: {exc}"
    return prepared
