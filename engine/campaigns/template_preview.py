"""UserEmailTemplate.Preview: a user email template rendered as a subscriber would receive it.

The template goes through the campaign pipeline (compose.build_skeleton: plain text derived from
HTML when there is none, CSS inlined, pre-header, personalisation) without tracking, and is filled
from a sample subscriber: `subscriber@example.com` and each custom field's name, overridden by the
caller's `SampleData`. SampleData keys are matched case-insensitively against the subscriber's
fields (`EmailAddress`, `SubscriptionDate`, …), then the account's custom fields by merge-tag alias,
by `CustomField<ID>` or by name; keys that match nothing fill nothing. The links name subscriber 0
and send instance 0, as a test message's do: clicking them in a preview changes nobody.
Sendmill has no account header or footer, so IncludeBranding changes nothing.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from engine.accounts.auth import Actor
from engine.delivery.compose import Content, Sending, build_skeleton
from engine.delivery.one_off import local_now, owner_constants
from engine.delivery.personalize import CUSTOM_FIELD_PREFIX, EMAIL_ADDRESS, NOW, SUBSCRIBER_FIELDS, SUBSCRIBER_ID
from engine.models import CustomField, User
from engine.tracking.tokens import NO_NONCE

SAMPLE_ADDRESS = "subscriber@example.com"


def sample_context(fields: list[CustomField], sample: dict, now: datetime) -> dict:
    """The personalisation context of the sample subscriber, `sample` (any key case) over the defaults."""
    ctx: dict = {EMAIL_ADDRESS: SAMPLE_ADDRESS, "Subscriber:ListID": 0, "Subscriber:SubscriptionStatus": "Subscribed",
                 "Subscriber:BounceType": "Not Bounced", "Subscriber:SubscriptionDate": now,
                 "Subscriber:SubscriptionIP": "127.0.0.1", "Subscriber:OptInDate": now}
    keys = {name.lower(): f"Subscriber:{name}" for name in SUBSCRIBER_FIELDS if name != "SubscriberID"}
    for field in fields:
        key = f"{CUSTOM_FIELD_PREFIX}{field.id}"
        ctx[key] = field.name
        for name in (field.merge_tag_alias, f"CustomField{field.id}", field.name):
            if name:
                keys.setdefault(name.lower(), key)
    for name, value in sample.items():
        key = keys.get(str(name).strip().lower())
        if key is not None:
            ctx[key] = "" if value is None else value if isinstance(value, str) else _scalar(value)
    ctx[SUBSCRIBER_ID] = 0   # the links' tokens must name nobody
    return ctx


def _scalar(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render_preview(uow, actor: Actor, email_id: int, sample: dict) -> tuple[str, str]:
    """(HTML body, plain body) of the caller's template `email_id`, personalised with `sample`."""
    template = uow.user_templates.get(actor, email_id)
    owner = uow.session.get(User, actor.id)
    if not (template.html_content.strip() or template.plain_content.strip()):
        return "", ""
    settings = uow.settings
    # The From never shows in a preview; a fixed address cannot make the build fail.
    content = Content(subject=template.subject, from_email="preview@example.com", html=template.html_content,
                      text=template.plain_content, pre_header=template.pre_header_text,
                      open_tracking=False, link_tracking=False)
    sending = Sending(signer=settings.signer(), base_url=settings.base_url, bounce_domain=settings.return_path_domain,
                      campaign_id=0, instance_id=0, link_nonce=NO_NONCE,
                      constants={**owner_constants(owner), "Campaign:Name": template.email_name},
                      aliases=uow.events.aliases(owner.id))
    skeleton = build_skeleton(content, sending)
    fields = list(uow.session.scalars(select(CustomField).where(CustomField.owner_user_id == owner.id)
                                      .order_by(CustomField.id)))
    now = local_now(owner, uow.clock())
    ctx = sample_context(fields, sample, now)
    ctx[NOW] = now
    _subject, html, text = skeleton.bodies(ctx)
    return html, text
