"""WSGI entry point: `gunicorn wsgi:app` (what `sendmill serve` runs)."""
import sys

from engine.installation import SetupError
from protocol.app import create_app

try:
    app = create_app()
except SetupError as exc:
    print(f"sendmill: {exc.message}", file=sys.stderr)
    # 4 is gunicorn's "App failed to load": the arbiter stops instead of booting worker after worker.
    raise SystemExit(4) from None
