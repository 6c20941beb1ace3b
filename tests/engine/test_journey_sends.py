"""The journey SendEmail ledger's worker side (engine/automation/send_ledger.JOURNEYS): claims by
compare-and-set, writes only under one's own claim, and an expired lease becoming `unknown` when the
message was handed over (never mailed twice), `pending` when it was not. On SQLite, PostgreSQL and MariaDB."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.automation.send_ledger import JOURNEYS, SENT, Outcome
from engine.models import JourneySend

LEASE = timedelta(minutes=5)


def ledger(engine, clock, n: int) -> None:
    with engine.uow() as uow:
        uow.session.add_all([JourneySend(journey_id=1, action_id=7, enrollment_id=i, step_seq=0, subscriber_id=i,
                                         email_address=f"s{i}@example.com", email_id=1, due_at=clock(),
                                         state="pending", created_at=clock()) for i in range(1, n + 1)])
        uow.commit()


def states(engine) -> dict[int, str]:
    with engine.uow() as uow:
        return dict(uow.session.execute(select(JourneySend.subscriber_id, JourneySend.state)).all())


def test_claims_are_disjoint_and_record_only_under_ones_own_claim(engine, clock):
    ledger(engine, clock, 5)
    with engine.uow() as uow:
        first = JOURNEYS.claim(uow.session, "a", clock(), LEASE, 3)
        second = JOURNEYS.claim(uow.session, "b", clock(), LEASE, 3)
        assert len(first) == 3 and len(second) == 2 and {c.group_id for c in first + second} == {7}
        assert not {c.id for c in first} & {c.id for c in second}
        assert JOURNEYS.hand_over(uow.session, "b", {first[0].id: "<m@x>"}) == set()   # not b's
        JOURNEYS.record(uow.session, "b", [Outcome(first[0].id, 7, 0, SENT)], clock(), LEASE)
        JOURNEYS.record(uow.session, "a", [Outcome(first[1].id, 7, 0, SENT)], clock(), LEASE)
        uow.commit()
    assert list(states(engine).values()).count("sent") == 1
    assert states(engine)[first[1].subscriber_id] == "sent"


def test_an_expired_handed_over_claim_becomes_unknown_never_pending(engine, clock):
    ledger(engine, clock, 2)
    with engine.uow() as uow:
        claimed = JOURNEYS.claim(uow.session, "dead", clock(), LEASE, 2)
        assert JOURNEYS.hand_over(uow.session, "dead", {claimed[0].id: "<m@x>"}) == {claimed[0].id}
        uow.commit()
    clock.advance(minutes=6)
    with engine.uow() as uow:
        assert JOURNEYS.expire_leases(uow.session, clock()) == 1
        again = JOURNEYS.claim(uow.session, "next", clock(), LEASE, 10)
        assert [c.id for c in again] == [claimed[1].id]   # never handed over: safe to take again
    assert states(engine) == {claimed[0].subscriber_id: "unknown", claimed[1].subscriber_id: "claimed"}
