"""A delivery worker loads only what sending needs: its peak memory budget is 80 MB at 1,000,000
recipients (README "Sending on PostgreSQL"), and every module it imports stays resident for its lifetime.

The libraries below are loaded on first use instead (DKIM signing, CSS inlining, SQLite's regular
expressions) or belong to other processes (the web app). Run in a fresh interpreter: this test process has
imported everything already.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# What `sendmill worker` imports on its way to sending a campaign (scheduler/cli/sending.py and the passes
# it runs first: imports, confirmations, reports, webhooks).
WORKER_PATH = (
    "scheduler.cli", "scheduler.cli.sending", "engine.delivery.runner", "engine.delivery.transport",
    "engine.delivery.relays", "engine.audience.confirmations", "engine.audience.import_runner",
    "engine.campaigns.report_mail", "engine.events.webhooks", "engine.automation.sending",
)
# Not loaded until used: dkimpy (with dnspython), css-inline, RE2; never in a worker: the web side.
NOT_LOADED = ("dkim", "dns", "css_inline", "re2", "flask", "werkzeug", "marshmallow", "protocol")


def loaded_top_level_packages(modules: tuple[str, ...]) -> set[str]:
    code = ("import importlib, json, sys\n"
            f"for name in {list(modules)!r}:\n"
            "    importlib.import_module(name)\n"
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return set(json.loads(out))


def test_a_worker_does_not_load_what_it_does_not_use():
    loaded = loaded_top_level_packages(WORKER_PATH)
    assert {"engine", "sqlalchemy"} <= loaded     # the probe itself worked
    assert loaded & set(NOT_LOADED) == set()


def test_the_lazily_loaded_libraries_still_work_when_used():
    from engine.audience.sqlfuncs import _regexp
    from engine.delivery.inline_css import inline_css

    assert _regexp("^a.c$", "ABC") == 1 and _regexp("^a.c$", "abd") == 0 and _regexp("(", "x") == 0
    assert 'style="color: red' in inline_css("<style>p { color: red }</style><p>x</p>")
