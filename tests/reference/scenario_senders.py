"""Example calls: sender emails and their verification, sender details, webhooks."""
from __future__ import annotations

import re
from email import message_from_bytes, policy

from tests.reference.recorder import Call, Hook

# What the recording's DNS answers (no lookups leave the machine): the TXT records per name.
TXT_RECORDS = {"_dmarc.bigmail.example": ["v=DMARC1; p=reject"]}


def mailed_code(recording) -> dict:
    """The verification code the loopback relay received (a person reads it in their inbox)."""
    _mail_from, _rcpts, data = recording.smtp.messages[-1]
    text = message_from_bytes(data, policy=policy.default).get_body(preferencelist=("plain",)).get_content()
    return {"VERIFICATION_CODE": re.search(r"verification code is ([A-Z0-9]{6})", text).group(1)}


STEPS = [
    # Sender emails, sender details, Identify Sender Address
    Call("SenderEmail.Create", {"EmailAddress": "news@doe-trading.example"},
         save={"SENDER_ID": "SenderEmail.SenderEmailID"}),
    Call("SenderEmail.SendVerificationCode", {"SenderEmailID": "{SENDER_ID}"}),
    Hook(mailed_code, hide=("VERIFICATION_CODE",)),
    Call("SenderEmail.Verify", {"SenderEmailID": "{SENDER_ID}", "VerificationCode": "{VERIFICATION_CODE}"}),
    Call("SenderEmail.GetOrCreate", {"EmailAddress": "offers@doe-trading.example"},
         save={"OFFERS_SENDER_ID": "SenderEmail.SenderEmailID"}),
    Call("SenderEmail.Get", {"SenderEmailID": "{SENDER_ID}"}),
    Call("SenderEmails.Get", {"Limit": "10"}),
    Call("SenderEmail.Delete", {"SenderEmailID": "{OFFERS_SENDER_ID}"}),
    Call("SenderDetails.Update", {"FromName": "Doe Trading", "FromEmail": "news@doe-trading.example"}),
    Call("SenderDetails.Get"),
    Call("SenderAddress.Identify", {"EmailAddress": "alice@bigmail.example"}),

    # Webhooks
    Call("Webhook.Create", {"URL": "https://hooks.doe-trading.example/sendmill",
                            "EventTypes": "wix.email_marketing.v1.campaign"},
         save={"WEBHOOK_ID": "WebhookID"}, hide={"WEBHOOK_SECRET": "Secret"}),
    Call("Webhooks.Get"),
    Call("Webhook.Update", {"WebhookID": "{WEBHOOK_ID}", "EventTypes": "*", "RotateSecret": "true"},
         hide={"ROTATED_SECRET": "Secret"}),
    Call("Webhook.Test", {"WebhookID": "{WEBHOOK_ID}"}, hide={"PING_EVENT_ID": "EventID"}),
    Call("Webhook.Deliveries.Get", {"WebhookID": "{WEBHOOK_ID}", "State": "pending"}),
    Call("Webhook.Delete", {"WebhookID": "{WEBHOOK_ID}"}),
]
