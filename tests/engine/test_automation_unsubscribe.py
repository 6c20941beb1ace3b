"""The unsubscription link of journey mail (engine/automation/tracking.unsubscribe_by_link, which autoresponder
mail shares, tests/protocol/test_autoresponder_tracking.py): the subscriber leaves the list once."""
from __future__ import annotations

import pytest

from engine.automation.journeys.runner import run_pass
from engine.models import Subscriber
from engine.tracking.activity import TrackingTargetGone
from engine.tracking.tokens import journey_instance
from tests.builders import make_email, make_list, make_subscriber
from tests.engine.test_autoresponder_sending import Capture
from tests.engine.test_journey_mail import worker
from tests.engine.test_journey_runner import enroll, journey
from tests.helpers import stored_state


def test_the_unsubscribe_link_of_journey_mail_opts_out_once(engine, user, clock):
    list_id = make_list(engine, user, "People")
    ann, bob = make_subscriber(engine, list_id, "ann@example.com"), make_subscriber(engine, list_id, "bob@example.com")
    mail = make_email(engine, user, from_email="shop@example.com", html_content="<p>Hello</p>")
    jid, (step,) = journey(engine, user, [{"action": "SendEmail", "emailid": mail, "published": True}])
    enroll(engine, user, jid, list_id, [ann])
    run_pass(engine, clock())
    assert worker(engine, Capture(), clock).run_once().sent == 1
    with engine.uow() as uow:
        nonce = uow.session.get(Subscriber, ann).public_nonce
        assert uow.events.unsubscribe(journey_instance(step), ann, "198.51.100.7", nonce=nonce) is True
        uow.commit()
    with engine.uow() as uow:
        row = uow.session.get(Subscriber, ann)
        assert (row.subscription_status, row.unsubscription_ip) == ("Unsubscribed", "198.51.100.7")
        assert uow.session.get(Subscriber, bob).subscription_status == "Subscribed"
    before = stored_state(engine)
    with engine.uow() as uow:   # again: already out, nothing changes; bob was never mailed: not his link
        assert uow.events.unsubscribe(journey_instance(step), ann, "198.51.100.7", nonce=nonce) is False
        with pytest.raises(TrackingTargetGone):
            uow.events.unsubscribe(journey_instance(step), bob, "", nonce=nonce)
        uow.commit()
    assert stored_state(engine) == before
