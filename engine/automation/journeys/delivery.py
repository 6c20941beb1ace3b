"""Mailing due `journey_sends` rows: a journey SendEmail action's group for the automation delivery
(engine/automation/sending.py, run by `sendmill worker` / DeliveryRunner between campaign batches).

The rows of one action are sent as one group, re-checked at send time exactly like an autoresponder's:
the owner's account ACTIVE, the From allowed by the sender policy, each subscriber Subscribed and not
bounced, complained or suppressed (engine/delivery/recipients.py). The message is the action's current
`EmailID` (README "Journeys"): its From / Reply-To replaced by the action's `From` / `ReplyTo` when they
name an address, a `Cc` header for `CC`, and a copy of every message to each `CC` and `BCC` address.
Its tokens name the action (engine/tracking/tokens.journey_instance) and carry the subscriber's nonce,
so opens and clicks come back to engine/automation/journeys/tracking.py.
"""
from __future__ import annotations

import json

from engine.automation import send_ledger as ledger
from engine.automation.sending import AutomationDelivery, Prepared, skipped
from engine.delivery.compose import Content
from engine.models import Email, Journey, JourneyAction, User
from engine.senders.policy import campaign_from, refusal
from engine.tracking.tokens import journey_instance


class JourneyDelivery(AutomationDelivery):
    ledger = ledger.JOURNEYS

    def _prepare(self, s, action_id: int) -> Prepared:
        """The action's skeleton, or why its rows cannot be sent now (read again for every batch)."""
        action = s.get(JourneyAction, action_id)
        journey = s.get(Journey, action.journey_id) if action is not None else None
        if action is None or journey is None or action.action != "SendEmail":
            return skipped(None, 0, "the journey action was deleted")
        owner = s.get(User, journey.owner_user_id)
        try:
            p = json.loads(action.parameters or "{}")
        except ValueError:
            p = {}
        email = s.get(Email, int(p.get("EmailID") or 0))
        if email is not None and email.owner_user_id != owner.id:
            email = None
        sender, reply_to = p.get("From") or {}, p.get("ReplyTo") or {}
        from_email = sender.get("Email") or (campaign_from(email, owner) if email else "")
        error = self._inactive(s, owner.id) or ("" if email else "the SendEmail action has no email")
        error = error or refusal(s, self.engine.settings, owner.id, from_email)
        if error:
            return skipped(action, owner.id, error)
        cc = [(c.get("Name", ""), c["Email"]) for c in p.get("CC") or [] if c.get("Email")]
        bcc = [c["Email"] for c in p.get("BCC") or [] if c.get("Email")]
        content = Content(
            subject=email.subject, from_email=from_email,
            from_name=sender.get("Name", "") if sender.get("Email") else email.from_name,
            reply_to_email=reply_to.get("Email") or email.reply_to_email,
            reply_to_name=reply_to.get("Name", "") if reply_to.get("Email") else email.reply_to_name,
            html=email.html_content, text=email.plain_content, pre_header=email.pre_header_text,
            open_tracking=email.open_tracking, link_tracking=email.link_tracking, cc=tuple(cc))
        try:
            skeleton = self._skeleton(s, owner, content, journey_instance(action.id),
                                      {"Campaign:Name": journey.name, "Journey:Name": journey.name})
        except ValueError as exc:
            return skipped(action, owner.id, f"the journey's email cannot be built: {exc}")
        return Prepared(action, owner.id, skeleton, copies=tuple(dict.fromkeys([a for _, a in cc] + bcc)))
