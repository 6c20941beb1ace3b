"""Data builders for tests: plain functions that write through the engine and commit."""
from __future__ import annotations

from engine.accounts.auth import Actor
from engine.models import Segment, SubscriberList


def user_actor(account) -> Actor:
    return Actor("user", account.id, "*")


def make_list(engine, owner, name: str = "Newsletter") -> int:
    with engine.uow() as uow:
        row = SubscriberList(owner_user_id=owner.id, name=name, created_at=uow.clock())
        uow.session.add(row)
        uow.commit()
        return row.id


def make_segment(engine, owner, list_id: int, name: str = "Segment") -> int:
    with engine.uow() as uow:
        row = Segment(owner_user_id=owner.id, list_id=list_id, name=name, created_at=uow.clock())
        uow.session.add(row)
        uow.commit()
        return row.id


def make_email(engine, owner, **fields) -> int:
    with engine.uow() as uow:
        email = uow.emails.create(user_actor(owner), fields.pop("email_name", "Welcome"))
        for key, value in fields.items():
            setattr(email, key, value)
        uow.commit()
        return email.id


def set_list(engine, list_id: int, **columns) -> None:
    """Set list columns directly (settings no command under test is about)."""
    from engine.models import SubscriberList

    with engine.uow() as uow:
        row = uow.session.get(SubscriberList, list_id)
        for key, value in columns.items():
            setattr(row, key, value)
        uow.commit()


def set_campaign(engine, campaign_id: int, **columns) -> None:
    """Put a campaign into a state only the scheduler/delivery can reach (e.g. Sending)."""
    from engine.models import Campaign

    with engine.uow() as uow:
        campaign = uow.session.get(Campaign, campaign_id)
        for key, value in columns.items():
            setattr(campaign, key, value)
        uow.commit()


def set_user(engine, account, **columns) -> None:
    """Set user columns directly (e.g. `reputation_level="Untrusted"`, an administrator's setting)."""
    from engine.models import User

    with engine.uow() as uow:
        row = uow.session.get(User, account.id)
        for key, value in columns.items():
            setattr(row, key, value)
        uow.commit()


def load_campaign(engine, campaign_id: int):
    from engine.models import Campaign

    with engine.uow() as uow:
        campaign = uow.session.get(Campaign, campaign_id)
        if campaign is not None:
            _ = campaign.recipients, campaign.tags  # load before the session closes
            uow.session.expunge_all()
        return campaign


# --- lists, subscribers, custom fields, suppression ------------------------------------------
def make_custom_field(engine, owner, list_id: int, name: str = "First name", **spec) -> int:
    """A custom field through the engine; `spec` uses CustomFieldService.create keys (field_type, options…)."""
    with engine.uow() as uow:
        field = uow.custom_fields.create(user_actor(owner), list_id, {"name": name, **spec})
        uow.commit()
        return field.id


def make_subscriber(engine, list_id: int, email: str, values: dict | None = None, **columns) -> int:
    """A subscriber row written directly (status, bounce type… in `columns`), with custom-field texts."""
    from engine.models import Subscriber, SubscriberFieldValue
    from engine.validation import normalize_email

    with engine.uow() as uow:
        columns.setdefault("subscription_date", uow.clock())
        row = Subscriber(list_id=list_id, email_address=email, email_normalized=normalize_email(email), **columns)
        uow.session.add(row)
        uow.session.flush()
        for field_id, text in (values or {}).items():
            uow.session.add(SubscriberFieldValue(subscriber_id=row.id, field_id=field_id, value_text=text))
        uow.commit()
        return row.id


def load_subscriber(engine, list_id: int, email: str):
    """(subscriber row or None, {field ID: (text, number, date)}) for an address in a list."""
    from sqlalchemy import select

    from engine.models import Subscriber, SubscriberFieldValue
    from engine.validation import normalize_email

    with engine.uow() as uow:
        row = uow.session.scalar(select(Subscriber).where(
            Subscriber.list_id == list_id, Subscriber.email_normalized == normalize_email(email)))
        if row is None:
            return None, {}
        values = {v.field_id: (v.value_text, v.value_number, v.value_date) for v in uow.session.scalars(
            select(SubscriberFieldValue).where(SubscriberFieldValue.subscriber_id == row.id))}
        uow.session.expunge_all()
        return row, values


def load_row(engine, model, row_id: int):
    """Any row by primary key, detached (e.g. load_row(engine, SubscriberList, list_id))."""
    with engine.uow() as uow:
        row = uow.session.get(model, row_id)
        if row is not None:
            uow.session.expunge_all()
        return row


class CodeRecorder:
    """Wraps the `api` caller: checks that every failure code is in the command's table (or the
    dispatcher's 99998/99999) and records the codes seen, for the "every code is reached" tests."""

    GLOBAL = {99998, 99999}

    def __init__(self, api, seen: dict):
        self.api = api
        self.seen = seen
        self.json = api.json

    def __call__(self, command: str, session=None, **kwargs):
        from protocol.registry import COMMANDS

        answer = self.api(command, session, **kwargs)
        spec = COMMANDS[command.lower()]
        if answer["Success"] is False:
            code = answer["ErrorCode"]
            code = next(iter(code.values())) if isinstance(code, dict) else code[0] if isinstance(code, list) else code
            code = {key: number for number, key in spec.error_keys.items()}.get(code, code)   # a name → its code
            assert code in spec.errors or code in self.GLOBAL, f"{command} answered undocumented code {code}"
            self.seen.setdefault(spec.name, set()).add(code)
        return answer


def assert_codes_reached(request, seen: dict, commands, never_emitted: dict) -> None:
    """Every documented code of `commands` was answered by some test of the module (run whole)."""
    import pytest

    if request.config.getoption("keyword") or request.config.getoption("markexpr") or request.config.args != \
            [a for a in request.config.args if "::" not in a]:
        pytest.skip("only meaningful when the whole module runs")
    for command in commands:
        expected = set(command.errors) - set(never_emitted.get(command.name, ()))
        missing = expected - seen.get(command.name, set())
        assert not missing, f"{command.name}: no test answers code(s) {sorted(missing)}"


def make_user_in_group(engine, api, username: str, permissions: str, group_name: str = "Limited"):
    """A logged-in user of a new user group that has only `permissions` (comma-separated)."""
    from engine.models import UserGroup
    from tests.helpers import make_user

    with engine.uow() as uow:
        group = UserGroup(name=group_name, permissions=permissions, created_at=uow.clock())
        uow.session.add(group)
        uow.commit()
        group_id = group.id
    return make_user(engine, api, username, group_id=group_id)


def assert_refused_with_list_code(api, engine, command: str, caller, code: int, params: dict) -> dict:
    """A list-shaped refusal (`ErrorCode: [code]`, `ErrorText: [why]`) that changed nothing stored."""
    from tests.helpers import stored_state

    before = stored_state(engine)
    answer = api(command, caller.session, **params)
    assert answer["Success"] is False and answer["ErrorCode"] == [code], answer
    assert isinstance(answer["ErrorText"], list) and answer["ErrorText"][0]
    assert stored_state(engine) == before  # a refused command changes nothing
    return answer


def decision(criteria: list, true: list, false: list) -> dict:
    """A published journey Decision action (Actions.Update shape) with its True and False branches."""
    return {"action": "Decision", "published": True, "criteriaoperator": "and", "criteria": criteria,
            "actions": {"true": true, "false": false}}


def debug_action(message: str) -> dict:
    return {"action": "Debug", "published": True, "debugmessage": message}


def wait_action(days: int) -> dict:
    return {"action": "Wait", "waitamount": days, "waitunit": "days", "published": True}


def run_journeys(engine, owner, list_id: int, subscriber_ids: list[int], clock, actions: list[dict],
                 copies: int = 1) -> list[tuple[int, list[int]]]:
    """`copies` journeys of `actions`, the subscribers enrolled in the first, then one runner pass: each
    journey's ID with its action IDs in tree order."""
    from engine.automation.journeys.runner import run_pass
    from tests.engine.test_journey_runner import enroll, journey

    made = [journey(engine, owner, actions) for _ in range(copies)]
    enroll(engine, owner, made[0][0], list_id, subscriber_ids)
    run_pass(engine, clock())
    return made


def make_reader(engine, api, permissions: str = "Lists.Get,List.Create", username: str = "reader"):
    """A logged-in user of a group with only `permissions`, for the "needs permission X" tests."""
    return make_user_in_group(engine, api, username, permissions, group_name="Readers")