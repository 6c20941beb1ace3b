"""WSGI entry point: `gunicorn wsgi:app` (what `sendmill serve` runs)."""
from protocol.app import create_app

app = create_app()
