"""The bare side of bench/api.py: a Flask app that answers fixed bytes, served by gunicorn exactly as
`sendmill serve` serves wsgi:app. `/read` answers the bytes in $BENCH_BARE_BODY (a file); `/subscribe`
first runs one INSERT of a subscriber row through the same SQLAlchemy engine (driver, pool, pragmas)
Sendmill uses, in its own transaction, then answers the same way."""
from __future__ import annotations

import itertools
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path

from flask import Flask, Response, request
from sqlalchemy import insert

from engine.db import make_sa_engine
from engine.models import Subscriber

app = Flask(__name__)
BODY = Path(os.environ["BENCH_BARE_BODY"]).read_bytes()
LIST_ID = int(os.environ.get("BENCH_BARE_LIST_ID", "0"))
_db = make_sa_engine(os.environ["SENDMILL_DATABASE_URL"]) if LIST_ID else None
_numbers = itertools.count()
_prefix = uuid.uuid4().hex[:8]


@app.route("/read", methods=["GET", "POST"])
def read():
    request.form  # noqa: B018 - parse the body as the real endpoint must
    return Response(BODY, mimetype="application/json")


@app.route("/subscribe", methods=["POST"])
def subscribe():
    email = f"bare-{_prefix}-{next(_numbers)}@example.org"
    with _db.begin() as conn:
        conn.execute(insert(Subscriber).values(
            list_id=LIST_ID, email_address=email, email_normalized=email,
            subscription_date=datetime.now(timezone.utc), subscription_ip=request.remote_addr or ""))
    return Response(BODY, mimetype="application/json")
