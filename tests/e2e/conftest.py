"""End-to-end fixtures: a real SMTP server on the loopback interface (never anything outside 127.0.0.0/8)."""
from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller

from tests.e2e.support import Recorder, free_port


@pytest.fixture
def smtp():
    recorder = Recorder()
    # aiosmtpd gives a server 5 s to start by default: too short on a busy machine.
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port(), ready_timeout=60)
    controller.start()
    recorder.url = f"smtp://127.0.0.1:{controller.port}"
    yield recorder
    controller.stop()
