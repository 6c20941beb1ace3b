"""How email subscriptions look on the wire: the modern object (REST) and the legacy-style one (/api.php)."""
from __future__ import annotations

from engine.audience.email_subscriptions import ItemResult, iso, subscription_payload
from engine.models import EmailSubscription

# The REST object is the engine's event payload, so a webhook and an answer can never disagree.
rest_subscription = subscription_payload


def legacy_subscription(row: EmailSubscription) -> dict:
    return {"SubscriptionID": row.id, "EmailAddress": row.email_address,
            "SubscriptionStatus": row.subscription_status, "DeliverabilityStatus": row.deliverability_status,
            "CreatedDate": iso(row.created_at), "UpdatedDate": iso(row.updated_at)}


def rest_bulk(results: list[ItemResult]) -> dict:
    """The modern bulk answer: one result per item, in request order, and the totals."""
    items = []
    for result in results:
        meta = {"id": str(result.row.id) if result.row else None, "originalIndex": result.index,
                "success": result.error is None}
        entry: dict = {"itemMetadata": meta}
        if result.error is None:
            entry["item"] = rest_subscription(result.row)
        else:
            meta["error"] = {"code": "INVALID_ARGUMENT", "description": result.error.message, "data": {}}
        items.append(entry)
    failures = sum(1 for r in results if r.error is not None)
    return {"results": items, "bulkActionMetadata": {"totalSuccesses": len(results) - failures,
                                                     "totalFailures": failures, "undetailedFailures": 0}}


def legacy_bulk(results: list[ItemResult]) -> dict:
    rows = [{"Index": r.index, "Success": r.error is None, "ErrorText": r.error.message if r.error else "",
             "Subscription": legacy_subscription(r.row) if r.row is not None and r.error is None else None}
            for r in results]
    failures = sum(1 for r in results if r.error is not None)
    return {"Results": rows, "TotalSucceeded": len(results) - failures, "TotalFailed": failures}
