"""The SendEmail ledger's worker seam: claims by compare-and-set, settling only under one's own claim, and
expired leases becoming `unknown` (never mailed twice). On each of SQLite, PostgreSQL and MariaDB."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.automation.journeys import sends
from engine.models import JourneySend


def ledger(engine, clock, n: int) -> None:
    with engine.uow() as uow:
        uow.session.add_all([JourneySend(journey_id=1, action_id=1, enrollment_id=i, step_seq=0, subscriber_id=i,
                                         email_address=f"s{i}@example.com", email_id=1, due_at=clock(),
                                         state="pending", created_at=clock()) for i in range(1, n + 1)])
        uow.commit()


def states(engine) -> dict[int, str]:
    with engine.uow() as uow:
        return dict(uow.session.execute(select(JourneySend.subscriber_id, JourneySend.state)).all())


def test_claims_are_disjoint_and_settle_once(engine, clock):
    ledger(engine, clock, 5)
    with engine.uow() as uow:
        first = sends.claim(uow.session, clock(), 3, timedelta(minutes=5), "a")
        second = sends.claim(uow.session, clock(), 3, timedelta(minutes=5), "b")
        uow.commit()
        assert len(first) == 3 and len(second) == 2
        assert not {s.id for s in first} & {s.id for s in second}
        assert sends.settle(uow.session, first[0], "sent", clock(), message_id="<m@x>")
        assert not sends.settle(uow.session, first[0], "failed", clock())   # already settled
        uow.commit()
    assert list(states(engine).values()).count("sent") == 1


def test_an_expired_lease_becomes_unknown_never_pending(engine, clock):
    ledger(engine, clock, 2)
    with engine.uow() as uow:
        claimed = sends.claim(uow.session, clock(), 2, timedelta(minutes=5), "dead")
        uow.commit()
    clock.advance(minutes=6)
    with engine.uow() as uow:
        assert sends.expire(uow.session, clock()) == 2
        assert not sends.settle(uow.session, claimed[0], "sent", clock())   # the dead worker's late answer
        assert sends.claim(uow.session, clock(), 10, timedelta(minutes=5)) == []
        uow.commit()
    assert set(states(engine).values()) == {"unknown"}
