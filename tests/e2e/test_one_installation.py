"""An installation as its operator runs it: processes started from any directory share the database's key,
so the links one of them mails work on the web app; the worker runs until it is stopped."""
from __future__ import annotations

import email
import email.policy
import re
import signal
import subprocess
import sys
from collections import Counter

from engine import bootstrap
from engine.config import Settings
from protocol.app import create_app
from scheduler.tick import tick
from tests.e2e.support import make_campaign, make_list, make_owner
from tests.conftest import SENDER_DOMAINS_ENV, TEST_SENDER_DOMAINS
from tests.installation_support import ROOT, fresh_database, process_env, sendmill

BASE_URL = "http://sendmill.test"


def links(message_bytes: bytes) -> dict[str, str]:
    """The unsubscribe link (List-Unsubscribe) and the tracked click link (HTML body) of a mailed message."""
    message = email.message_from_bytes(message_bytes, policy=email.policy.default)
    unsubscribe = re.search(rf"<({re.escape(BASE_URL)}/t/u/[^>]+)>", message["List-Unsubscribe"]).group(1)
    html = message.get_body(("html",)).get_content()
    click = re.search(rf'href="({re.escape(BASE_URL)}/t/c/[^"]+)"', html).group(1)
    return {"unsubscribe": unsubscribe[len(BASE_URL):], "click": click[len(BASE_URL):]}


def test_a_tick_run_from_another_directory_mails_links_the_web_app_accepts(backend, smtp, tmp_path):
    with fresh_database(backend, tmp_path) as url:
        env = process_env(tmp_path, SENDMILL_DATABASE_URL=url, SENDMILL_BASE_URL=BASE_URL, **SENDER_DOMAINS_ENV)
        assert sendmill("init-db", cwd=tmp_path / "srv", env=env).returncode == 0
        # The web app's engine: no SENDMILL_SECRET_KEY anywhere, the key comes from the database.
        engine = bootstrap(Settings(database_url=url, secret_key="", base_url=BASE_URL,
                                    allowed_sender_domains=TEST_SENDER_DOMAINS))
        try:
            owner = make_owner(engine)
            make_campaign(engine, owner, [make_list(engine, owner, ["ann@example.com", "bob@example.com"], "News")])
            # cron's tick, started from another directory (the report: a new ./data/secret.key, 404 links)
            sent = sendmill("tick", "--send-budget", "30", cwd=tmp_path / "cron",
                            env={**env, "SENDMILL_SMTP_URL": smtp.url})
            assert sent.returncode == 0, sent.stderr
            assert "send: 2 sent, 0 failed" in sent.stdout
            assert list(tmp_path.rglob("secret.key")) == []

            client = create_app(engine).test_client()
            for _, _, data in smtp.messages:
                found = links(data)
                page = client.get(found["unsubscribe"])
                assert page.status_code == 200 and b"Unsubscribe" in page.data, page.data[:300]
                click = client.get(found["click"])
                assert click.status_code == 302 and click.headers["Location"] == "https://example.com/offer"
        finally:
            engine.db.dispose()


def read_until(process: subprocess.Popen, prefix: str) -> list[str]:
    """stdout lines up to and including the first one starting with `prefix` (fails at end of output)."""
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith(prefix):
            return lines
    raise AssertionError(f"the worker ended before printing {prefix!r}: {''.join(lines)}{process.stderr.read()}")


def test_the_worker_keeps_running_when_idle_picks_up_new_work_and_stops_cleanly_on_sigterm(
        engine, clock, smtp, database_url, tmp_path):
    owner = make_owner(engine)
    make_campaign(engine, owner, [make_list(engine, owner, ["a1@example.com", "a2@example.com"], "First")])
    tick(engine, clock())
    env = process_env(tmp_path, SENDMILL_DATABASE_URL=database_url, SENDMILL_SECRET_KEY="test-secret",
                      SENDMILL_BASE_URL=BASE_URL, SENDMILL_SMTP_URL=smtp.url, **SENDER_DOMAINS_ENV)
    worker = subprocess.Popen([sys.executable, "-m", "scheduler", "worker", "--max-wait", "1"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        read_until(worker, "nothing to send")          # the first campaign is out and the worker waits, not exits
        assert Counter(smtp.recipients()) == Counter(["a1@example.com", "a2@example.com"])
        assert worker.poll() is None

        clock.advance(minutes=1)
        make_campaign(engine, owner, [make_list(engine, owner, ["b1@example.com"], "Second")])
        tick(engine, clock())
        read_until(worker, "nothing to send")          # found the new work on a later look, sent it, idle again
        assert Counter(smtp.recipients()) == Counter(["a1@example.com", "a2@example.com", "b1@example.com"])

        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert worker.returncode == 0, err
    assert re.search(r"^worker stopped \(stopped\): 3 sent, 0 failed", out, re.MULTILINE), out
    assert "Traceback" not in err
