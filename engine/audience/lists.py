"""Subscriber lists: creation, settings, listing with counts, and deletion."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from urllib.parse import urlparse

from sqlalchemy import case, delete, func, or_, select

from engine.accounts.auth import Actor
from engine.errors import EmailNotFound, InvalidListSetting, ListLimitReached, ListNotFound, SubscriberLimitReached
from engine.models import (
    AutoResponder, AutoResponderSend, CampaignRecipient, CustomField, Email, Segment, Subscriber,
    SubscriberFieldValue, SubscriberList, SubscriberTag, SubscriberTagAssignment, Suppression, User, UserGroup,
)
from engine.validation import normalize_email
from engine.ownership import get_owned, require_owned_ids

TEXT_SETTINGS = (
    "name", "description", "sender_name", "sender_company", "sender_address",
    "req_by_email_subscription_command", "req_by_email_unsubscription_command",
)
URL_SETTINGS = (
    "subscription_confirmation_pending_page_url", "subscription_confirmed_page_url",
    "subscription_error_page_url", "unsubscription_confirmed_page_url", "unsubscription_error_page_url",
)
EMAIL_SETTINGS = ("sender_email_address", "req_by_email_search_to_address")
FLAG_SETTINGS = (
    "opt_out_add_to_suppression_list", "opt_out_add_to_global_suppression_list", "hide_in_subscriber_area",
    "send_service_integration_failed_notification", "send_activity_notification",
)
ENUM_SETTINGS = ("opt_in_mode", "opt_out_scope")
LIST_LINK_SETTINGS = (
    "opt_in_subscribe_to_list_id", "opt_in_unsubscribe_from_list_id", "opt_out_subscribe_to_list_id",
    "opt_out_unsubscribe_from_list_id",
)
SETTINGS = TEXT_SETTINGS + URL_SETTINGS + EMAIL_SETTINGS + FLAG_SETTINGS + ENUM_SETTINGS + LIST_LINK_SETTINGS + (
    "opt_in_confirmation_email_id", "options")
MAX_NAME = 255
READ = object()   # subscriber_room(limit=READ): read the group's limit (the caller has not)
NO_SYNC = {"synchronize_session": False}


@dataclass
class ListQuery:
    order_field: str | None = None  # wire name, lower-cased; unknown names fall back to ListID
    descending: bool = False
    offset: int = 0
    limit: int = 0  # 0 = all
    search: str | None = None
    archived: str = "false"  # "false": active lists only (the default), "true": archived only, "all"


@dataclass(frozen=True)
class ListCounts:
    subscribers: int = 0  # every row, whatever its status
    active: int = 0       # Subscribed and not hard-bounced: the legacy SubscriberCount
    segments: int = 0


def active_condition():
    """Who "Active" means on the wire (protocol.md §6.2): subscribed and not hard-bounced."""
    return (Subscriber.subscription_status == "Subscribed") & (Subscriber.bounce_type != "Hard")


class ListService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    # --- reading -----------------------------------------------------------------------------------
    def get(self, actor: Actor, list_id: int, *, for_update: bool = False) -> SubscriberList:
        return get_owned(self.s, SubscriberList, list_id, actor, ListNotFound, for_update=for_update)

    def get_public(self, list_id: int) -> SubscriberList:
        """A list by ID alone, for the public commands (subscribe forms carry no credentials)."""
        row = self.s.get(SubscriberList, list_id)
        if row is None:
            raise ListNotFound()
        return row

    def owns_all(self, actor: Actor, list_ids: list[int]) -> bool:
        """Whether every one of these lists exists and belongs to `actor` (administrators see every list)."""
        wanted = set(list_ids)
        if not wanted:
            return False
        if actor.is_admin:
            return True
        owned = self.s.scalar(select(func.count(SubscriberList.id)).where(
            SubscriberList.id.in_(wanted), SubscriberList.owner_user_id == actor.id))
        return owned == len(wanted)

    def search(self, actor: Actor, q: ListQuery) -> tuple[list[SubscriberList], int]:
        query = select(SubscriberList).where(SubscriberList.owner_user_id == actor.id)
        if q.search:
            query = query.where(or_(SubscriberList.name.icontains(q.search, autoescape=True),
                                    SubscriberList.description.icontains(q.search, autoescape=True)))
        if q.archived != "all":
            archived = SubscriberList.archived_at.is_not(None)
            query = query.where(archived if q.archived == "true" else ~archived)
        total = self.s.scalar(select(func.count()).select_from(query.subquery()))
        column = self._order_column(q.order_field)
        tie = SubscriberList.id.desc() if q.descending else SubscriberList.id.asc()
        query = query.order_by(column.desc() if q.descending else column.asc(), tie)
        if q.offset:
            query = query.offset(q.offset)
        if q.limit:
            query = query.limit(q.limit)
        return list(self.s.scalars(query)), total

    @staticmethod
    def _order_column(field: str | None):
        if field == "name":
            return func.lower(SubscriberList.name)  # case-insensitive, as the legacy collation sorted
        if field == "createdon":
            return SubscriberList.created_at
        if field == "archivedat":
            return SubscriberList.archived_at
        if field in ("activesubscribercount", "subscribercount"):
            return select(func.count(Subscriber.id)).where(
                Subscriber.list_id == SubscriberList.id, active_condition()).scalar_subquery()
        if field == "segmentcount":
            return select(func.count(Segment.id)).where(Segment.list_id == SubscriberList.id).scalar_subquery()
        return SubscriberList.id

    def counts(self, list_ids: list[int]) -> dict[int, ListCounts]:
        """Subscriber and segment counts of many lists in two grouped queries."""
        if not list_ids:
            return {}
        active = func.sum(case((active_condition(), 1), else_=0))
        rows = self.s.execute(select(Subscriber.list_id, func.count(Subscriber.id), active)
                              .where(Subscriber.list_id.in_(list_ids)).group_by(Subscriber.list_id)).all()
        segments = dict(self.s.execute(select(Segment.list_id, func.count(Segment.id))
                                       .where(Segment.list_id.in_(list_ids)).group_by(Segment.list_id)).all())
        found = {list_id: (total, int(act or 0)) for list_id, total, act in rows}
        return {i: ListCounts(found.get(i, (0, 0))[0], found.get(i, (0, 0))[1], segments.get(i, 0))
                for i in list_ids}

    def salted_id(self, list_id: int) -> str:
        """The legacy EncryptedSaltedListID: an opaque, stable token for a list (md5 of secret + ID)."""
        salt = self.uow.settings.secret_key if self.uow.settings else ""
        return hashlib.md5(f"{salt}{list_id}".encode()).hexdigest()  # noqa: S324 - an identifier, not security

    # --- writing -----------------------------------------------------------------------------------
    def create(self, actor: Actor, name: str, settings: dict | None = None) -> SubscriberList:
        limit = self._locked_limit(actor.id, UserGroup.limit_lists)
        if limit is not None and self._current_count(select(func.count(SubscriberList.id))
                                                     .where(SubscriberList.owner_user_id == actor.id)) >= limit:
            raise ListLimitReached(f"your user group allows {limit} lists; delete one or ask an administrator")
        row = SubscriberList(owner_user_id=actor.id, name=name, created_at=self.uow.clock())
        self._apply(actor, row, {"name": name, **(settings or {})})
        self.s.add(row)
        self.s.flush()
        return row

    # --- quotas of the owner's user group (LimitLists, LimitSubscribers) ------------------------------
    def subscriber_room(self, owner_id: int, *, limit=READ) -> tuple[int, int] | None:
        """(LimitSubscribers, places left) of an account, or None when its group sets no limit.
        Every subscriber row of the owner's lists counts, whatever its status. A caller that read the
        group's limit in this transaction already passes it as `limit` (None: unlimited)."""
        if limit is READ:
            limit = self._locked_limit(owner_id, UserGroup.limit_subscribers)
        elif not limit or limit < 0:
            return None
        else:
            self._lock_owner(owner_id)
        if limit is None:
            return None
        used = self._current_count(select(func.count(Subscriber.id)).join(
            SubscriberList, SubscriberList.id == Subscriber.list_id).where(SubscriberList.owner_user_id == owner_id))
        return limit, max(0, limit - used)

    def _current_count(self, query) -> int:
        # Counted after the owner's row lock, this must see what racing transactions committed
        # meanwhile. PostgreSQL (read committed) and SQLite (one writer) do; InnoDB's repeatable
        # read would answer from the transaction's older snapshot, so there it is a locking read.
        if self.s.get_bind().dialect.name in ("mysql", "mariadb"):
            query = query.with_for_update(read=True)
        return self.s.scalar(query)

    def require_subscriber_room(self, owner_id: int, new: int = 1, *, limit=READ) -> None:
        """SubscriberLimitReached unless the account may gain `new` subscribers (`limit`: subscriber_room's)."""
        room = self.subscriber_room(owner_id, limit=limit)
        if room is not None and room[1] < new:
            raise SubscriberLimitReached(f"the account's user group allows {room[0]} subscribers")

    def _locked_limit(self, owner_id: int, column) -> int | None:
        """A limit of the owner's group; None when unlimited (0, or negative as -1 elsewhere in the
        legacy settings). When limited the owner's row stays locked until commit, so two requests
        racing for the last place queue instead of both taking it."""
        limit = self.s.scalar(select(column).join(User, User.group_id == UserGroup.id).where(User.id == owner_id))
        if not limit or limit < 0:
            return None
        self._lock_owner(owner_id)
        return limit

    def _lock_owner(self, owner_id: int) -> None:
        self.s.execute(select(User.id).where(User.id == owner_id).with_for_update())

    def update(self, actor: Actor, list_id: int, changes: dict) -> SubscriberList:
        """Partial update: only the keys in `changes` (SETTINGS) change."""
        row = self.get(actor, list_id, for_update=True)
        self._apply(actor, row, changes)
        row.updated_at = self.uow.clock()
        self.s.flush()
        return row

    def _apply(self, actor: Actor, row: SubscriberList, changes: dict) -> None:
        for key, value in changes.items():
            if key not in SETTINGS:
                raise InvalidListSetting(f"unknown list setting {key}")
            if key in TEXT_SETTINGS:
                value = value.strip()
                if key == "name" and not value:
                    raise InvalidListSetting("the list name cannot be empty")
                if key != "sender_address" and key != "description" and len(value) > MAX_NAME:
                    raise InvalidListSetting(f"{key} is longer than {MAX_NAME} characters")
            elif key in URL_SETTINGS:
                value = value.strip()
                url = urlparse(value)
                if value and (url.scheme not in ("http", "https") or not url.netloc):
                    raise InvalidListSetting(f"{key} must be an http(s) URL")
            elif key in EMAIL_SETTINGS:
                value = value.strip()
                if value and normalize_email(value) is None:
                    raise InvalidListSetting(f"{key} is not a valid email address")
            elif key in LIST_LINK_SETTINGS:
                value = self._linked_list(actor, row, value, key)
            elif key == "opt_in_confirmation_email_id":
                value = self._confirmation_email(actor, value)
            elif key == "options":
                value = self._merged_options(row.options, value)
            setattr(row, key, value)

    def _linked_list(self, actor: Actor, row: SubscriberList, list_id: int | None, key: str) -> int | None:
        if not list_id:
            return None  # 0 = no behaviour
        if list_id == row.id:
            raise InvalidListSetting(f"{key} cannot point at the list itself")
        try:
            return self.get(actor, list_id).id
        except ListNotFound:
            raise InvalidListSetting(f"{key}: list {list_id} does not exist or does not belong to the user") from None

    def _confirmation_email(self, actor: Actor, email_id: int | None) -> int | None:
        if not email_id:
            return None
        email = self.s.get(Email, email_id)
        if email is None or email.owner_user_id != actor.id:
            raise InvalidListSetting(f"OptInConfirmationEmailID: {EmailNotFound.__doc__}")
        return email.id

    @staticmethod
    def _merged_options(current: str, new: dict) -> str:
        """Options keys are case-insensitive and merged into the stored object (protocol.md §3.3)."""
        if not isinstance(new, dict):
            raise InvalidListSetting("Options must be an object")
        try:
            stored = json.loads(current) if current else {}
        except ValueError:
            stored = {}
        by_lower = {k.lower(): k for k in stored}
        for key, value in new.items():
            stored[by_lower.get(str(key).lower(), str(key))] = value
        return json.dumps(stored, ensure_ascii=False)

    def delete(self, actor: Actor, list_ids: list[int]) -> int:
        """Delete all the given lists with everything in them, or none of them."""
        owned = require_owned_ids(self.s, SubscriberList, list_ids, actor, ListNotFound, "list")
        # Children first: not every backend cascades inside one statement the same way. The
        # session is not synchronised: these can be millions of rows it never loaded.
        members = select(Subscriber.id).where(Subscriber.list_id.in_(owned))
        fields = select(CustomField.id).where(CustomField.list_id.in_(owned))
        tags = select(SubscriberTag.id).where(SubscriberTag.list_id.in_(owned))
        responders = select(AutoResponder.id).where(AutoResponder.list_id.in_(owned))
        for statement in (
            delete(AutoResponderSend).where(AutoResponderSend.autoresponder_id.in_(responders)),
            delete(AutoResponder).where(AutoResponder.list_id.in_(owned)),
            delete(SubscriberTagAssignment).where(SubscriberTagAssignment.tag_id.in_(tags)),
            delete(SubscriberTag).where(SubscriberTag.list_id.in_(owned)),
            delete(SubscriberFieldValue).where(SubscriberFieldValue.subscriber_id.in_(members)),
            delete(Subscriber).where(Subscriber.list_id.in_(owned)),
            delete(SubscriberFieldValue).where(SubscriberFieldValue.field_id.in_(fields)),
            delete(CustomField).where(CustomField.list_id.in_(owned)),
            delete(Segment).where(Segment.list_id.in_(owned)),
            delete(CampaignRecipient).where(CampaignRecipient.list_id.in_(owned)),
            delete(Suppression).where(Suppression.list_id.in_(owned)),
            delete(SubscriberList).where(SubscriberList.id.in_(owned)),
        ):
            self.s.execute(statement, execution_options=NO_SYNC)
        # An excluded list gone widens an audience: approved campaigns of an Untrusted owner wait again.
        self.uow.approval.targeting_edited(actor.id)
        return len(owned)
