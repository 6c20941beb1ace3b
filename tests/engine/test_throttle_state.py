"""A relay that throttled us stays slowed down across a worker restart (state kept in the database)."""
from __future__ import annotations

from engine.delivery.throttle_state import load_throttle_state, save_throttle_state
from engine.delivery.relays import parse_relays
from engine.delivery.transport import SmtpPool

RELAYS = "smtp://127.0.0.1:2525?rate=100"


def test_slowed_rates_survive_a_restart(engine):
    first = SmtpPool(parse_relays(RELAYS))
    relay = first.status()[0]["relay"]
    first.relay_limiter.slow_down(relay)
    slowed = first.relay_limiter.rate(relay)
    assert slowed < 100
    save_throttle_state(engine, first.snapshot())
    first.close()

    restarted = SmtpPool(parse_relays(RELAYS))
    assert restarted.relay_limiter.rate(relay) == 100          # a fresh pool starts at full speed …
    restarted.restore(load_throttle_state(engine))
    assert restarted.relay_limiter.rate(relay) == slowed        # … unless the saved state says otherwise
    restarted.close()


def test_saving_twice_keeps_one_row_with_the_latest_state(engine):
    save_throttle_state(engine, {"relays": {}, "domains": {}})
    save_throttle_state(engine, {"relays": {"x": 1}})
    assert load_throttle_state(engine) == {"relays": {"x": 1}}


def test_nothing_saved_means_full_speed(engine):
    assert load_throttle_state(engine) == {}
