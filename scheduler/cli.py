"""The `sendmill` command line: set-up, serving, and the cron entry points."""
from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import click

from engine import bootstrap


def _engine():
    return bootstrap()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """Sendmill: a self-hosted email campaign engine speaking the legacy /api.php protocol.

    Configuration comes from SENDMILL_DATABASE_URL (default: SQLite in ./data),
    SENDMILL_SECRET_KEY and SENDMILL_BASE_URL.
    """


@main.command("init-db")
def init_db():
    """Create or upgrade the database schema and the default user group (safe to re-run)."""
    from engine.migrate import upgrade

    engine = _engine()
    upgrade(engine.db)
    with engine.uow() as uow:
        group = uow.accounts.ensure_default_group()
        uow.commit()
    click.echo(f"database ready at {engine.db.url.render_as_string(hide_password=True)} "
               f"(default user group #{group.id})")


@main.command("create-admin")
@click.option("--username", required=True, help="the administrator's login name")
@click.option("--password", help="the password (default: SENDMILL_ADMIN_PASSWORD, else one is generated)")
@click.option("--if-missing", is_flag=True, help="do nothing when this administrator already exists")
def create_admin(username: str, password: str | None, if_missing: bool):
    """Create an administrator who can then create users over the protocol."""
    from engine.errors import AlreadyExists

    password = password or os.environ.get("SENDMILL_ADMIN_PASSWORD")
    generated = password is None
    if generated:
        password = secrets.token_urlsafe(12)
    engine = _engine()
    with engine.uow() as uow:
        try:
            uow.accounts.create_admin(username, password)
        except AlreadyExists as exc:
            if if_missing:
                click.echo(f"administrator {username!r} already exists; left unchanged")
                return
            raise click.ClickException(f"{exc.message}; choose another --username") from None
        uow.commit()
    click.echo(f"administrator created: username={username} password={password if generated else '(as given)'}")


@main.command("serve")
@click.option("--bind", default="127.0.0.1:8080", show_default=True, help="HOST:PORT to listen on")
@click.option("--workers", default=2, show_default=True, help="gunicorn worker processes")
def serve(bind: str, workers: int):
    """Serve /api.php with gunicorn."""
    project_root = Path(__file__).resolve().parents[1]  # where wsgi.py lives
    args = [sys.executable, "-m", "gunicorn", "--bind", bind, "--workers", str(workers),
            "--chdir", str(project_root), "--access-logfile", "-", "wsgi:app"]
    os.execv(sys.executable, args)


if __name__ == "__main__":
    main()
