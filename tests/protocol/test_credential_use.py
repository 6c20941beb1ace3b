"""How often a credential's use is written (README "Performance"): a session's sliding expiry and an API
key's use count at most once a minute per row, never a write per call; read-only commands end without a
commit. Expiry is still enforced on every call."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, select

from engine.models import ApiKey, AuthSession, User
from tests.helpers import stored_state

AUTH_FAILED = {"Success": False, "ErrorCode": 99998, "ErrorText": "Authentication failure or session expired"}


def session_row(engine, user):
    with engine.uow() as uow:
        return uow.session.execute(select(AuthSession.last_used_at, AuthSession.expires_at)
                                   .where(AuthSession.user_id == user.id)).one()


def key_row(engine):
    with engine.uow() as uow:
        return uow.session.execute(select(ApiKey.request_count, ApiKey.last_used_at, ApiKey.last_used_ip)).one()


def last_activity(engine, user):
    with engine.uow() as uow:
        return uow.session.scalar(select(User.last_activity_at).where(User.id == user.id))


class Writes:
    """The statements other than reads, and the commits, the engine's connections send."""

    def __init__(self, engine):
        self.statements, self.commits = [], 0
        self._db = engine.db
        event.listen(self._db, "before_cursor_execute", self._statement)
        event.listen(self._db, "commit", self._commit)

    def _statement(self, conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith(("SELECT", "BEGIN")):
            self.statements.append(statement)

    def _commit(self, conn):
        self.commits += 1

    def close(self):
        event.remove(self._db, "before_cursor_execute", self._statement)
        event.remove(self._db, "commit", self._commit)


def test_a_session_used_within_the_minute_is_not_rewritten_and_one_after_is(api, user, engine, clock):
    campaign = api("Campaign.Create", user.session, CampaignName="Spring")["CampaignID"]
    logged_in = session_row(engine, user)
    clock.advance(seconds=59)
    writes = Writes(engine)
    try:
        assert api("Campaign.Get", user.session, CampaignID=campaign)["Success"] is True
    finally:
        writes.close()
    assert (writes.statements, writes.commits) == ([], 0)  # a read within the minute writes nothing
    assert session_row(engine, user) == logged_in
    clock.advance(seconds=1)
    assert api("Campaign.Get", user.session, CampaignID=campaign)["Success"] is True
    assert tuple(session_row(engine, user)) == (clock.now, clock.now + timedelta(days=30))
    assert last_activity(engine, user) == clock.now


def test_an_expired_session_is_refused_though_its_last_use_was_not_written(api, user, engine, clock):
    campaign = api("Campaign.Create", user.session, CampaignName="Spring")["CampaignID"]
    clock.advance(days=1)
    assert api("Campaign.Get", user.session, CampaignID=campaign)["Success"] is True  # written: slides
    written = session_row(engine, user)
    clock.advance(seconds=30)
    assert api("Campaign.Get", user.session, CampaignID=campaign)["Success"] is True  # within the minute
    assert session_row(engine, user) == written
    clock.now = written.expires_at
    before = session_row(engine, user)
    assert api("Campaign.Get", user.session, CampaignID=campaign) == AUTH_FAILED
    assert api("Campaigns.Get", user.session) == AUTH_FAILED
    assert session_row(engine, user) == before


def test_key_uses_are_written_at_most_once_a_minute_and_all_counted(api, user, engine, clock):
    answer = api("User.APIKey.Create", user.session, Note="crm")
    key = answer["APIKey"]["APIKey"]
    campaign = api("Campaign.Create", user.session, CampaignName="Spring")["CampaignID"]
    assert api("Campaign.Get", APIKey=key, CampaignID=campaign)["Success"] is True  # first use: written
    assert tuple(key_row(engine)) == (1, clock.now, "127.0.0.1")
    first = clock.now
    for _ in range(3):
        clock.advance(seconds=10)
        writes = Writes(engine)
        try:
            assert api("Campaign.Get", APIKey=key, CampaignID=campaign)["Success"] is True
        finally:
            writes.close()
        assert (writes.statements, writes.commits) == ([], 0)  # no row lock per call
    assert tuple(key_row(engine)) == (1, first, "127.0.0.1")
    clock.advance(seconds=30)  # a minute after the written use: this one writes all four
    assert api("Campaign.Get", APIKey=key, CampaignID=campaign)["Success"] is True
    assert tuple(key_row(engine)) == (5, clock.now, "127.0.0.1")
    clock.advance(seconds=1)
    assert api("Campaign.Get", APIKey=key, CampaignID=campaign)["Success"] is True
    assert key_row(engine).request_count == 5
    # The listing shows every use answered so far, its own included.
    listed = api("User.APIKey.List", user.session)["APIKeys"][0]
    assert (listed["RequestCount"], listed["LastUsedAt"]) == (6, clock.now.strftime("%Y-%m-%d %H:%M:%S"))
    assert key_row(engine).request_count == 6


def test_a_failed_call_records_no_use(api, user, engine, clock):
    key = api("User.APIKey.Create", user.session, Note="crm")["APIKey"]["APIKey"]
    assert api("Campaign.Get", APIKey=key, CampaignID=999)["Success"] is False
    assert tuple(key_row(engine)) == (0, None, "")
    clock.advance(days=2)
    before = session_row(engine, user)
    assert api("Campaign.Get", user.session, CampaignID=999)["Success"] is False
    assert session_row(engine, user) == before


def test_a_read_only_unit_that_writes_still_commits(engine, user):
    with engine.uow() as uow:
        uow.read_only()
        uow.session.get(User, user.id).company_name = "Written"
        uow.finish()
    with engine.uow() as uow:
        assert uow.session.get(User, user.id).company_name == "Written"


def test_revoking_a_key_bites_at_once_though_its_uses_are_not_written_yet(api, user, engine, clock):
    key = api("User.APIKey.Create", user.session, Note="crm")["APIKey"]["APIKey"]
    key_id = api("User.APIKey.List", user.session)["APIKeys"][0]["APIKeyID"]
    campaign = api("Campaign.Create", user.session, CampaignName="Spring")["CampaignID"]
    assert api("Campaign.Get", APIKey=key, CampaignID=campaign)["Success"] is True   # written
    clock.advance(seconds=5)
    assert api("Campaign.Get", APIKey=key, CampaignID=campaign)["Success"] is True   # counted in memory
    assert api("User.APIKey.Delete", user.session, APIKeyID=key_id)["Success"] is True
    before = stored_state(engine, skip={})
    assert api("Campaign.Get", APIKey=key, CampaignID=campaign) == AUTH_FAILED
    assert api("Subscribers.Get", APIKey=key, SubscriberListID=1, SubscriberSegment="Active") == AUTH_FAILED
    assert stored_state(engine, skip={}) == before


def test_a_user_disabled_between_two_calls_of_one_minute_is_refused_at_once(api, user, engine, clock):
    campaign = api("Campaign.Create", user.session, CampaignName="Spring")["CampaignID"]
    assert api("Campaign.Get", user.session, CampaignID=campaign)["Success"] is True
    with engine.uow() as uow:
        uow.session.get(User, user.id).account_status = "Disabled"
        uow.commit()
    clock.advance(seconds=5)
    assert api("Campaign.Get", user.session, CampaignID=campaign) == AUTH_FAILED
