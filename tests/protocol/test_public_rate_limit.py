"""Per-IP rate limits of the public commands (protocol.md Part 1 §12; engine/accounts/ratelimits.py).

A limited call answers like any other refusal: HTTP 200, `Success: false`, the documented global
code 429 and a `Retry-After` header. The counters live in the database, so separate engines
(worker processes, hosts) count together.
"""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from engine import bootstrap
from engine.config import Settings
from engine.models import RateLimitCounter, Subscriber
from engine.accounts.ratelimits import RateLimit, client_ip, parse_networks, parse_rate_limit
from protocol.app import create_app
from tests.builders import make_list
from tests.helpers import stored_state

LIMIT = RateLimit(requests=3, seconds=60)


def limited_engine(sa_engine, database_url, clock, **settings):
    return bootstrap(Settings(database_url=database_url, secret_key="test-secret", base_url="http://sendmill.test",
                              public_rate_limit=LIMIT, **settings), db=sa_engine, clock=clock)


@pytest.fixture
def limited(engine, sa_engine, database_url, clock):
    """A client of an app whose public commands allow 3 anonymous calls per minute and address."""
    return create_app(limited_engine(sa_engine, database_url, clock)).test_client()


def call(client, command, *, addr="203.0.113.7", headers=None, **params):
    response = client.post("/api.php", data={"Command": command, **params}, headers=headers or {},
                           environ_base={"REMOTE_ADDR": addr})
    assert response.status_code == 200, response.data
    return response


def subscribe(client, list_id, email, **kwargs):
    return call(client, "Subscriber.Subscribe", ListID=list_id, EmailAddress=email, IPAddress="198.51.100.1",
                **kwargs)


def subscriber_count(engine) -> int:
    with engine.uow() as uow:
        return uow.session.scalar(select(func.count(Subscriber.id)))


def test_the_call_over_the_limit_is_refused_with_429_and_retry_after(limited, engine, list_id, clock):
    for n in range(3):
        assert subscribe(limited, list_id, f"fan{n}@example.com").get_json()["Success"] is True
    clock.advance(seconds=15)
    refused = subscribe(limited, list_id, "late@example.com")
    body = refused.get_json()
    assert body["Success"] is False and body["ErrorCode"] == 429
    assert "retry after 45 seconds" in body["ErrorText"]
    assert refused.headers["Retry-After"] == "45"  # the 60-second window began at 12:00:00
    assert subscriber_count(engine) == 3  # the refused call did not run


def test_failing_calls_count_too(limited, engine, list_id):
    for _ in range(3):
        body = subscribe(limited, list_id, "not an address").get_json()
        assert body["Success"] is False and body["ErrorCode"] == [5]
    assert subscribe(limited, list_id, "good@example.com").get_json()["ErrorCode"] == 429
    assert subscriber_count(engine) == 0


def test_a_new_window_allows_calls_again_and_purges_the_old_counters(limited, engine, list_id, clock):
    for n in range(4):
        subscribe(limited, list_id, f"fan{n}@example.com")
    clock.advance(seconds=60)
    assert subscribe(limited, list_id, "next@example.com").get_json()["Success"] is True
    with engine.uow() as uow:
        windows = set(uow.session.scalars(select(RateLimitCounter.window_start)))
    assert windows == {int(clock.now.timestamp())}  # only the current window is left


def test_each_address_has_its_own_allowance(limited, engine, list_id):
    for n in range(3):
        subscribe(limited, list_id, f"a{n}@example.com", addr="203.0.113.7")
    assert subscribe(limited, list_id, "a9@example.com", addr="203.0.113.7").get_json()["ErrorCode"] == 429
    assert subscriber_count(engine) == 3
    assert subscribe(limited, list_id, "b@example.com", addr="2001:db8::5").get_json()["Success"] is True
    assert subscriber_count(engine) == 4


@pytest.mark.parametrize("command, params", [
    ("Subscriber.Unsubscribe", {"ListID": "{list}", "IPAddress": "1.2.3.4", "EmailAddress": "x@example.com"}),
    ("Subscriber.OptIn", {"ListID": "{list}", "SubscriberID": "1", "ConfirmationCode": "nope"}),
    ("User.Login", {"Username": "alice", "Password": "guess"}),
    ("Admin.Login", {"Username": "admin", "Password": "guess"}),
])
def test_every_public_command_is_limited(limited, engine, list_id, command, params):
    values = {k: v.format(list=list_id) for k, v in params.items()}
    for _ in range(3):
        assert call(limited, command, **values).get_json()["ErrorCode"] != 429
    before = stored_state(engine, skip={"rate_limit_counters"})
    refused = call(limited, command, **values)
    assert refused.get_json()["ErrorCode"] == 429 and int(refused.headers["Retry-After"]) > 0
    assert stored_state(engine, skip={"rate_limit_counters"}) == before  # the refused call did not run


def test_each_command_counts_separately(limited, engine, list_id):
    for n in range(3):
        subscribe(limited, list_id, f"fan{n}@example.com")
    assert subscribe(limited, list_id, "x@example.com").get_json()["ErrorCode"] == 429
    assert subscriber_count(engine) == 3
    answer = call(limited, "Subscriber.Unsubscribe", ListID=list_id, IPAddress="1.2.3.4",
                  EmailAddress="fan0@example.com").get_json()
    assert answer["Success"] is True
    with engine.uow() as uow:
        status = uow.session.scalar(select(Subscriber.subscription_status).where(
            Subscriber.email_normalized == "fan0@example.com"))
    assert status == "Unsubscribed"


def test_calls_with_valid_credentials_are_not_counted(limited, engine, list_id, user):
    for n in range(5):
        assert subscribe(limited, list_id, f"sync{n}@example.com", SessionID=user.session).get_json()["Success"]
    with engine.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(RateLimitCounter)) == 0


def counters(engine) -> int:
    with engine.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(RateLimitCounter))


@pytest.mark.parametrize("credential", ["SessionID", "APIKey"])
def test_another_account_s_credentials_are_counted_like_none(limited, engine, api, list_id, other_user, credential):
    # mallory's valid session or key on alice's list buys nothing: the fourth call is refused, unrun.
    key = api("User.APIKey.Create", other_user.session, Note="sync")["APIKey"]["APIKey"]
    theirs = {"SessionID": other_user.session, "APIKey": key}[credential]
    for n in range(3):
        assert subscribe(limited, list_id, f"fan{n}@example.com", **{credential: theirs}).get_json()["Success"]
    refused = subscribe(limited, list_id, "late@example.com", **{credential: theirs})
    assert refused.get_json()["ErrorCode"] == 429
    assert subscriber_count(engine) == 3   # nothing written past the limit


@pytest.mark.parametrize("command, params", [
    ("Subscriber.Unsubscribe", {"ListID": "{list}", "IPAddress": "1.2.3.4", "EmailAddress": "x@example.com"}),
    ("Subscriber.OptIn", {"ListID": "{list}", "SubscriberID": "1", "ConfirmationCode": "nope"}),
    ("Subscriber.Subscribe", {"ListID": "999999", "EmailAddress": "x@example.com", "IPAddress": "1.2.3.4"}),
    ("Subscriber.Subscribe", {"ListID": "{list},{mine}", "EmailAddress": "x@example.com", "IPAddress": "1.2.3.4"}),
    ("Subscriber.Subscribe", {"ListID": "not-a-list", "EmailAddress": "x@example.com", "IPAddress": "1.2.3.4"}),
])
def test_foreign_missing_or_mixed_lists_are_counted_with_valid_credentials(limited, engine, list_id, other_user,
                                                                           command, params):
    # A missing list is counted exactly like another account's: the limit tells nothing about list IDs.
    mine = make_list(engine, other_user, "Mallory's")
    values = {k: v.format(list=list_id, mine=mine) for k, v in params.items()}
    before = stored_state(engine)
    for _ in range(3):
        assert call(limited, command, SessionID=other_user.session, **values).get_json()["ErrorCode"] != 429
    assert call(limited, command, SessionID=other_user.session, **values).get_json()["ErrorCode"] == 429
    assert counters(engine) == 1
    assert stored_state(engine) == before  # every call was refused: nothing subscribed or unsubscribed


def test_the_owner_s_and_an_administrator_s_calls_are_not_counted(limited, engine, list_id, user, admin):
    other = make_list(engine, user, "Second")
    for n in range(4):
        assert subscribe(limited, f"{list_id},{other}", f"own{n}@example.com", SessionID=user.session).get_json()[
            "Success"]
        assert subscribe(limited, list_id, f"adm{n}@example.com", SessionID=admin.session).get_json()["Success"]
        assert call(limited, "Subscriber.Unsubscribe", ListID=list_id, IPAddress="1.2.3.4",
                    EmailAddress=f"own{n}@example.com", SessionID=user.session).get_json()["Success"]
    assert counters(engine) == 0


def test_logins_are_counted_even_with_a_valid_session(limited, engine, user):
    # A session of one account must not buy unlimited guesses at another account's password.
    before = stored_state(engine, skip={"rate_limit_counters"})
    for _ in range(3):
        answer = call(limited, "User.Login", Username="victim", Password="guess", SessionID=user.session).get_json()
        assert answer["ErrorCode"] != 429
    refused = call(limited, "User.Login", Username="victim", Password="guess", SessionID=user.session)
    assert refused.get_json()["ErrorCode"] == 429
    assert stored_state(engine, skip={"rate_limit_counters"}) == before  # no session opened


def test_a_stale_session_does_not_escape_the_limit(limited, engine, list_id):
    for n in range(3):
        subscribe(limited, list_id, f"fan{n}@example.com", SessionID="made-up-session")
    assert subscribe(limited, list_id, "x@example.com", SessionID="made-up-session").get_json()["ErrorCode"] == 429
    assert subscriber_count(engine) == 3


def test_other_commands_are_not_limited(limited, user):
    for _ in range(5):
        assert call(limited, "Lists.Get", SessionID=user.session).get_json()["Success"] is True
        assert call(limited, "Lists.Get").get_json()["ErrorCode"] == 99998


def test_forwarded_for_is_ignored_without_trusted_proxies(limited, engine, list_id):
    for n in range(3):
        subscribe(limited, list_id, f"fan{n}@example.com", headers={"X-Forwarded-For": f"10.9.9.{n}"})
    refused = subscribe(limited, list_id, "x@example.com", headers={"X-Forwarded-For": "10.9.9.99"})
    assert refused.get_json()["ErrorCode"] == 429
    assert subscriber_count(engine) == 3


def test_forwarded_for_names_the_client_behind_a_trusted_proxy(engine, sa_engine, database_url, clock, list_id):
    client = create_app(limited_engine(sa_engine, database_url, clock,
                                       trusted_proxies=("10.0.0.0/8",))).test_client()
    proxy = "10.0.0.2"
    for n in range(3):
        subscribe(client, list_id, f"fan{n}@example.com", addr=proxy, headers={"X-Forwarded-For": "198.51.100.20"})
    assert subscribe(client, list_id, "x@example.com", addr=proxy,
                     headers={"X-Forwarded-For": "198.51.100.20"}).get_json()["ErrorCode"] == 429
    # Another visitor behind the same proxy has an allowance of its own ...
    assert subscribe(client, list_id, "y@example.com", addr=proxy,
                     headers={"X-Forwarded-For": "198.51.100.21"}).get_json()["Success"] is True
    # ... and a client cannot pick its key by writing addresses left of the one the proxy added.
    spoofed = subscribe(client, list_id, "z@example.com", addr=proxy,
                        headers={"X-Forwarded-For": "1.1.1.1, 198.51.100.20"})
    assert spoofed.get_json()["ErrorCode"] == 429
    # A forged header line before the one the proxy appended proves nothing either.
    forged = client.post("/api.php", data={"Command": "Subscriber.Subscribe", "ListID": list_id,
                                           "EmailAddress": "w@example.com", "IPAddress": "1.2.3.4"},
                         headers=[("X-Forwarded-For", "1.1.1.1"), ("X-Forwarded-For", "198.51.100.20")],
                         environ_base={"REMOTE_ADDR": proxy})
    assert forged.get_json()["ErrorCode"] == 429
    with engine.uow() as uow:
        clients = set(uow.session.scalars(select(RateLimitCounter.client)))
        subscribed = sorted(uow.session.scalars(select(Subscriber.email_normalized)))
    assert clients == {"198.51.100.20", "198.51.100.21"}
    assert subscribed == ["fan0@example.com", "fan1@example.com", "fan2@example.com", "y@example.com"]


def test_separate_engines_count_together_under_concurrency(engine, sa_engine, database_url, clock, backend):
    """Workers are separate processes with their own connection pools: 4 engines x 6 threads race for
    the 3 x 4 = 12 slots of one client; exactly 12 are granted."""
    from engine.db import make_sa_engine

    limit = RateLimit(12, 60)
    engines = [bootstrap(engine.settings, db=make_sa_engine(database_url), clock=clock) for _ in range(4)]
    granted, errors = [], []
    barrier = threading.Barrier(24)

    def worker(eng):
        try:
            barrier.wait()
            with eng.uow() as uow:
                decision = uow.rate_limits.hit("api:subscriber.subscribe", "203.0.113.7", limit)
                uow.commit()
            granted.append(decision.allowed)
        except Exception as exc:  # noqa: BLE001 - reported below with the backend
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(engines[i % 4],)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for eng in engines:
        eng.db.dispose()
    assert not errors, errors
    assert granted.count(True) == 12 and granted.count(False) == 12


# --- configuration and client address (no database) -------------------------------------------------
def test_rate_limit_setting_parses():
    assert parse_rate_limit("60/60") == RateLimit(60, 60)
    assert parse_rate_limit(" 100/3600 ") == RateLimit(100, 3600)
    assert parse_rate_limit("30") == RateLimit(30, 60)
    for off in ("", "0", "off", None):
        assert parse_rate_limit(off) is None
    for bad in ("sixty", "60/0", "-1/60", "60/x"):
        with pytest.raises(ValueError):
            parse_rate_limit(bad)


def test_trusted_proxies_setting_parses():
    assert parse_networks("10.0.0.1, 192.168.0.0/16,::1") == ("10.0.0.1/32", "192.168.0.0/16", "::1/128")
    assert parse_networks("") == ()
    with pytest.raises(ValueError):
        parse_networks("10.0.0.1, proxy.local")


def test_settings_from_env_read_both(monkeypatch, tmp_path):
    monkeypatch.setenv("SENDMILL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SENDMILL_PUBLIC_RATE_LIMIT", raising=False)
    assert Settings.from_env().public_rate_limit == RateLimit(60, 60)  # on by default
    monkeypatch.setenv("SENDMILL_PUBLIC_RATE_LIMIT", "off")
    monkeypatch.setenv("SENDMILL_TRUSTED_PROXIES", "127.0.0.1")
    settings = Settings.from_env()
    assert settings.public_rate_limit is None and settings.trusted_proxies == ("127.0.0.1/32",)
    monkeypatch.setenv("SENDMILL_PUBLIC_RATE_LIMIT", "lots")
    with pytest.raises(ValueError):
        Settings.from_env()


@pytest.mark.parametrize("peer, header, expected", [
    ("203.0.113.7", "1.2.3.4", "203.0.113.7"),              # the peer is no proxy: header ignored
    ("10.0.0.2", None, "10.0.0.2"),
    ("10.0.0.2", "198.51.100.20", "198.51.100.20"),
    ("10.0.0.2", "1.1.1.1, 198.51.100.20", "198.51.100.20"),  # the client wrote 1.1.1.1
    ("10.0.0.2", "198.51.100.20, 10.0.0.9", "198.51.100.20"),  # two trusted hops
    ("10.0.0.2", "10.0.0.8, 10.0.0.9", "10.0.0.8"),           # only proxies: the farthest one
    ("10.0.0.2", "garbage", "10.0.0.2"),
    ("10.0.0.2", "2001:db8::1", "2001:db8::1"),
])
def test_client_ip(peer, header, expected):
    assert client_ip(peer, header, ("10.0.0.0/8",)) == expected


def test_a_call_whose_command_fails_counts_though_its_transaction_is_rolled_back(limited, engine, list_id):
    # The count shares the command's transaction; a command that fails (here: no such list) rolls it back,
    # and the count is written again on its own.
    for n in range(3):
        body = subscribe(limited, list_id + 1000, f"fan{n}@example.com").get_json()
        assert body["Success"] is False and body["ErrorCode"] != 429
    before = stored_state(engine, skip={"rate_limit_counters"})
    assert subscribe(limited, list_id, "good@example.com").get_json()["ErrorCode"] == 429
    assert stored_state(engine, skip={"rate_limit_counters"}) == before


def test_a_call_that_breaks_counts_too(limited, engine, list_id, monkeypatch):
    from engine.audience.subscribers import SubscriberService

    def broken(*args, **kwargs):
        raise RuntimeError("a surprise")

    monkeypatch.setattr(SubscriberService, "subscribe", broken)
    for n in range(3):
        assert subscribe(limited, list_id, f"fan{n}@example.com").get_json()["ErrorCode"] == 100005
    assert subscribe(limited, list_id, "good@example.com").get_json()["ErrorCode"] == 429
    assert counters(engine) == 1 and subscriber_count(engine) == 0


def test_windows_that_are_over_are_purged_once_per_window(limited, engine, list_id, clock):
    subscribe(limited, list_id, "first@example.com", addr="203.0.113.1")   # purges (nothing yet) for this window
    start = int(clock.now.timestamp()) // 60 * 60
    with engine.uow() as uow:   # another process's counter of a window that is over
        uow.session.add(RateLimitCounter(bucket="api:subscriber.subscribe", client="192.0.2.9",
                                         window_start=start - 60, hits=1))
        uow.commit()
    subscribe(limited, list_id, "second@example.com", addr="203.0.113.2")  # a new client, the same window
    with engine.uow() as uow:
        assert start - 60 in set(uow.session.scalars(select(RateLimitCounter.window_start)))
    clock.advance(seconds=60)
    assert subscribe(limited, list_id, "third@example.com", addr="203.0.113.2").get_json()["Success"] is True
    with engine.uow() as uow:
        assert set(uow.session.scalars(select(RateLimitCounter.window_start))) == {start + 60}
