"""One subscriber and its journeys, by hand: Subscriber.Journey.Trigger / Exit / Remove / List (subscribers.md)."""
from __future__ import annotations

from sqlalchemy import delete, func, select, update

from engine.accounts.auth import Actor
from engine.automation.journeys.enroll import enroll
from engine.errors import AllJourneysSkipped, JourneyNotFound, ListNotFound, SubscriberNotFound
from engine.models import Journey, JourneyEnrollment as E, Subscriber, SubscriberList


class Membership:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    def _subscriber(self, actor: Actor, list_id: int, subscriber_id: int) -> Subscriber:
        found = self.s.get(SubscriberList, list_id)
        if found is None or found.owner_user_id != actor.id:
            raise ListNotFound()
        subscriber = self.s.get(Subscriber, subscriber_id)
        if subscriber is None or subscriber.list_id != list_id:
            raise SubscriberNotFound()
        return subscriber

    def trigger(self, actor: Actor, journey_ids: list[int], list_id: int, subscriber_id: int, *,
                bypass_status: bool) -> tuple[list[int], list[dict]]:
        """Enroll the subscriber into each journey; (journeys entered, [{JourneyID, Reason}] skipped)."""
        subscriber = self._subscriber(actor, list_id, subscriber_id)
        owned = self.uow.journeys.owned(actor, journey_ids)
        entered, skipped = [], []
        for journey_id in journey_ids:
            journey = owned.get(journey_id)
            if journey is None:
                skipped.append({"JourneyID": journey_id, "Reason": "Journey not found"})
            elif journey.status != "Enabled" and not bypass_status:
                skipped.append({"JourneyID": journey_id, "Reason": "Journey is disabled"})
            elif enroll(self.s, journey, list_id, [subscriber.id], self.uow.clock()):
                entered.append(journey_id)
            else:
                skipped.append({"JourneyID": journey_id, "Reason": "Subscriber is already in the journey, is not "
                                "subscribed, does not match its criteria, or its rate limit is reached"})
        if not entered:
            raise AllJourneysSkipped(skipped)
        return entered, skipped

    def remove(self, actor: Actor, journey_ids: list[int], list_id: int, subscriber_id: int) -> tuple[list, list]:
        """Forget the subscriber's runs of each journey (it may enter again as new)."""
        subscriber = self._subscriber(actor, list_id, subscriber_id)
        owned = self.uow.journeys.owned(actor, journey_ids)
        skipped = [{"JourneyID": j, "Reason": "Journey not found"} for j in journey_ids if j not in owned]
        if not owned:
            raise AllJourneysSkipped(skipped)
        self.s.execute(delete(E).where(E.journey_id.in_(owned), E.subscriber_id == subscriber.id)
                       .execution_options(synchronize_session=False))
        return [j for j in journey_ids if j in owned], skipped

    def exit(self, actor: Actor, journey_id: int, list_id: int, subscriber_id: int) -> None:
        subscriber = self._subscriber(actor, list_id, subscriber_id)
        journey = self.uow.journeys.owned(actor, [journey_id]).get(journey_id)
        if journey is None:
            raise JourneyNotFound()
        self.s.execute(update(E).where(E.journey_id == journey.id, E.subscriber_id == subscriber.id, E.state == "active")
                       .values(state="exited", current_action_id=0, finished_at=self.uow.clock())
                       .execution_options(synchronize_session=False))

    def journeys_of(self, actor: Actor, list_id: int, subscriber_id: int) -> list[tuple[Journey, E]]:
        """The journeys the subscriber entered, each with its latest run, in order of entry."""
        subscriber = self._subscriber(actor, list_id, subscriber_id)
        latest = (select(E.journey_id, func.max(E.run_no).label("run_no")).where(E.subscriber_id == subscriber.id)
                  .group_by(E.journey_id).subquery())
        rows = self.s.execute(select(Journey, E).join(E, E.journey_id == Journey.id)
                              .join(latest, (latest.c.journey_id == E.journey_id) & (latest.c.run_no == E.run_no))
                              .where(E.subscriber_id == subscriber.id, Journey.owner_user_id == actor.id)
                              .order_by(E.created_at, E.id))
        return [(j, e) for j, e in rows]
