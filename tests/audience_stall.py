"""Make the audience statements that read custom-field values slow on purpose, on each backend.

Criteria on a custom field read `subscriber_field_values`; criteria on list membership alone do not.
Inside `stalled_field_values(...)`:

* PostgreSQL and MariaDB: another connection holds an exclusive lock on that table, so such a
  statement waits until the database's own time limit stops it (nothing else waits);
* SQLite, where reads never wait: every call of the regexp function advances the engine's injected
  timer by one second, as if each match took that long, and the progress handler sees the deadline
  pass. The stalled audience needs a few hundred rows for the handler to be asked (every
  PROGRESS_STEPS instructions): STALLED_ROWS.

Give the engine a small limit (`limit_audience_queries`) so the servers give up quickly.
"""
from __future__ import annotations

import dataclasses
from contextlib import contextmanager

from engine.audience import sqlfuncs

STALLED_ROWS = 300


class FakeTimer:
    """The engine's monotonic timer, moved by the test instead of by time."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limit_audience_queries(engine, seconds: float = 0.3, tick_seconds: float = 0.3) -> None:
    engine.settings = dataclasses.replace(engine.settings, audience_query_timeout=seconds,
                                          tick_audience_query_timeout=tick_seconds)


@contextmanager
def stalled_field_values(engine, backend: str, monkeypatch):
    if backend == "sqlite":
        timer = FakeTimer()
        original = sqlfuncs._regexp

        def slow_regexp(pattern, value):
            timer.now += 1.0
            return original(pattern, value)

        monkeypatch.setattr(engine, "timer", timer)
        # Registered again on the connection by every audience query (sqlfuncs.prepare_connection).
        monkeypatch.setattr(sqlfuncs, "_regexp", slow_regexp)
        try:
            yield
        finally:
            monkeypatch.setattr(sqlfuncs, "_regexp", original)
        return
    holder = engine.db.connect()
    try:
        if backend == "postgresql":
            holder.exec_driver_sql("LOCK TABLE subscriber_field_values IN ACCESS EXCLUSIVE MODE")
        else:
            holder.exec_driver_sql("LOCK TABLES subscriber_field_values WRITE")
        yield
    finally:
        if backend != "postgresql":
            holder.exec_driver_sql("UNLOCK TABLES")
        holder.rollback()
        holder.close()


@dataclasses.dataclass
class StalledAudience:
    list_id: int
    field_id: int
    segment_id: int   # City matches regex "^c1": 111 of the rows
    rules_json: str   # that segment's RulesJson


def make_stalled_audience(engine, owner_id: int, name: str = "Cities") -> StalledAudience:
    """A list of STALLED_ROWS subscribers with a City value, and a segment that reads it by regex."""
    import json

    from engine.models import CustomField, Segment, Subscriber, SubscriberFieldValue, SubscriberList

    with engine.uow() as uow:
        s, now = uow.session, uow.clock()
        row = SubscriberList(owner_user_id=owner_id, name=name, created_at=now)
        s.add(row)
        s.flush()
        field = CustomField(owner_user_id=owner_id, list_id=row.id, name="City", created_at=now)
        subscribers = [Subscriber(list_id=row.id, email_address=f"p{i}@{name.lower()}.example",
                                  email_normalized=f"p{i}@{name.lower()}.example", subscription_date=now)
                       for i in range(STALLED_ROWS)]
        s.add_all([field, *subscribers])
        s.flush()
        s.add_all(SubscriberFieldValue(subscriber_id=sub.id, field_id=field.id, value_text=f"c{i}")
                  for i, sub in enumerate(subscribers))
        rules_json = json.dumps([[{"type": "fields", "field_id": str(field.id), "operator": "matches regex",
                                   "value": "^c1"}]])
        segment = Segment(owner_user_id=owner_id, list_id=row.id, name="City c1", rules_json=rules_json,
                          rules_operator="and", created_at=now)
        s.add(segment)
        uow.commit()
        return StalledAudience(row.id, field.id, segment.id, rules_json)
