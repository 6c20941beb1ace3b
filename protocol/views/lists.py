"""How a subscriber list and a custom field look on the wire (List.Get, Lists.Get, CustomFields.Get).

Both are legacy database rows: IDs and numbers from columns as numeric strings (`"ListID": "1"`),
Yes/No and true/false flags as the legacy columns held them, counts as integers.
"""
from __future__ import annotations

import json

from engine.audience.custom_fields.rules import load_options
from engine.audience.lists import ListCounts
from engine.models import CustomField, SubscriberList

# Wire name → list attribute; the order of the legacy row.
LIST_COLUMNS = {
    "Name": "name", "Description": "description", "SenderName": "sender_name",
    "SenderEmailAddress": "sender_email_address", "SenderCompany": "sender_company",
    "SenderAddress": "sender_address", "OptInMode": "opt_in_mode", "OptOutScope": "opt_out_scope",
    "SubscriptionConfirmationPendingPageURL": "subscription_confirmation_pending_page_url",
    "SubscriptionConfirmedPageURL": "subscription_confirmed_page_url",
    "SubscriptionErrorPageURL": "subscription_error_page_url",
    "UnsubscriptionConfirmedPageURL": "unsubscription_confirmed_page_url",
    "UnsubscriptionErrorPageURL": "unsubscription_error_page_url",
    "ReqByEmailSearchToAddress": "req_by_email_search_to_address",
    "ReqByEmailSubscriptionCommand": "req_by_email_subscription_command",
    "ReqByEmailUnsubscriptionCommand": "req_by_email_unsubscription_command",
}
ID_COLUMNS = {
    "OptInConfirmationEmailID": "opt_in_confirmation_email_id", "OptInSubscribeTo": "opt_in_subscribe_to_list_id",
    "OptInUnsubscribeFrom": "opt_in_unsubscribe_from_list_id", "OptOutSubscribeTo": "opt_out_subscribe_to_list_id",
    "OptOutUnsubscribeFrom": "opt_out_unsubscribe_from_list_id",
}
YES_NO_COLUMNS = {
    "OptOutAddToSuppressionList": "opt_out_add_to_suppression_list",
    "OptOutAddToGlobalSuppressionList": "opt_out_add_to_global_suppression_list",
}
TRUE_FALSE_COLUMNS = {
    "HideInSubscriberArea": "hide_in_subscriber_area",
    "SendServiceIntegrationFailedNotification": "send_service_integration_failed_notification",
    "SendActivityNotification": "send_activity_notification",
}


def list_row(row: SubscriberList, counts: ListCounts, salted_id: str) -> dict:
    out = {"ListID": str(row.id), "RelOwnerUserID": str(row.owner_user_id)}
    out.update({wire: getattr(row, attr) or "" for wire, attr in LIST_COLUMNS.items()})
    out.update({wire: str(getattr(row, attr) or 0) for wire, attr in ID_COLUMNS.items()})
    out.update({wire: "Yes" if getattr(row, attr) else "No" for wire, attr in YES_NO_COLUMNS.items()})
    out.update({wire: "true" if getattr(row, attr) else "false" for wire, attr in TRUE_FALSE_COLUMNS.items()})
    out.update({
        "CreatedOn": row.created_at, "ArchivedAt": row.archived_at, "SyncStatus": "Disabled", "SyncLastDateTime": "Never",
        "Options": _options(row.options), "SubscriberCount": counts.active,
        "ActiveSubscriberCount": counts.active, "TotalSubscriberCount": counts.subscribers,
        "SegmentCount": counts.segments, "EncryptedSaltedListID": salted_id,
    })
    return out


def _options(text: str):
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        value = {}
    return value or []  # an empty PHP array, as json_encode writes it


def field_options_text(options: list[dict]) -> str:
    """The legacy FieldOptions string: `[[*]]value` per option (`*` = selected), comma-separated.

    The official WordPress widget splits it on commas and strips `[[`, `]]` and `*`; a label
    differing from its value travels as `Label||Value`, which Subscribe accepts back as the value.
    """
    parts = []
    for o in options:
        text = o["value"] if o["label"] == o["value"] else f"{o['label']}||{o['value']}"
        parts.append(f"[[{'*' if o['selected'] else ''}]]{text}")
    return ",".join(parts)


def custom_field_row(f: CustomField) -> dict:
    options = load_options(f)
    return {
        "CustomFieldID": str(f.id), "RelOwnerUserID": str(f.owner_user_id), "RelListID": str(f.list_id or 0),
        "FieldName": f.name, "FieldType": f.field_type, "FieldDefaultValue": f.default_value,
        "FieldOptions": field_options_text(options),
        "Options": [{"Label": o["label"], "Value": o["value"], "Selected": o["selected"]} for o in options],
        "ValidationMethod": f.validation_method, "ValidationRule": f.validation_rule,
        "IsRequired": "Yes" if f.is_required else "No", "IsUnique": "Yes" if f.is_unique else "No",
        "Visibility": f.visibility, "IsGlobal": "Yes" if f.list_id is None else "No",
        "MergeTagAlias": f.merge_tag_alias, "Years": f.years,
    }
