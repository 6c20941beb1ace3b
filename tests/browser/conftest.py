"""Browser tests: the console served by a live server (werkzeug, 127.0.0.1, a free port) on one SQLite
database, driven by Debian's headless Chromium through its chromedriver (never a downloaded browser).

Without the binaries the tests are skipped locally, with the reason; under CI=true they must run, so a
missing binary fails them (.ci/run installs chromium and chromium-driver when they are absent).
"""
from __future__ import annotations

import dataclasses
import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from engine import bootstrap
from engine.config import Settings
from engine.db import Base, make_sa_engine
from tests.conftest import TEST_SENDER_DOMAINS, FakeClock

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parents[2] / "tmp" / "artifacts" / "console"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"the browser tests must run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(path)]
    if missing:
        _unavailable(f"{', '.join(missing)} not installed (apt-get install chromium chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium is not installed (pip install -e '.[test]')")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1280,900", "--disable-extensions", "--no-first-run"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


@dataclasses.dataclass
class LiveServer:
    url: str
    engine: object
    clock: FakeClock
    app: object


@pytest.fixture
def live(tmp_path):
    """The app on a free loopback port over a fresh SQLite database (one backend is enough here)."""
    from protocol.app import create_app

    sa_engine = make_sa_engine(f"sqlite:///{tmp_path / 'console.db'}")
    Base.metadata.create_all(sa_engine)
    clock = FakeClock()
    settings = Settings(database_url=str(sa_engine.url), secret_key="browser-secret", base_url="http://127.0.0.1",
                        allowed_sender_domains=TEST_SENDER_DOMAINS)
    engine = bootstrap(settings, db=sa_engine, clock=clock)
    app = create_app(engine)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    engine.settings = dataclasses.replace(engine.settings, base_url=url)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveServer(url, engine, clock, app)
    server.shutdown()
    thread.join(10)
    sa_engine.dispose()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
