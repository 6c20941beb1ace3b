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


@main.command("up")
@click.option("--bind", default="127.0.0.1:8080", show_default=True, help="HOST:PORT to listen on")
@click.option("--username", default=lambda: os.environ.get("SENDMILL_ADMIN_USERNAME", "admin"),
              show_default="admin or SENDMILL_ADMIN_USERNAME", help="the administrator to make sure of")
@click.pass_context
def up(ctx, bind: str, username: str):
    """Quick start: init-db, make sure an administrator exists, then serve."""
    ctx.invoke(init_db)
    ctx.invoke(create_admin, username=username, password=None, if_missing=True)
    click.echo(f"serving /api.php on http://{bind}/api.php  (log in with Admin.Login)")
    ctx.invoke(serve, bind=bind, workers=2)


@main.command("serve")
@click.option("--bind", default="127.0.0.1:8080", show_default=True, help="HOST:PORT to listen on")
@click.option("--workers", default=2, show_default=True, help="gunicorn worker processes")
def serve(bind: str, workers: int):
    """Serve /api.php with gunicorn."""
    project_root = Path(__file__).resolve().parents[1]  # where wsgi.py lives
    args = [sys.executable, "-m", "gunicorn", "--bind", bind, "--workers", str(workers),
            "--chdir", str(project_root), "--access-logfile", "-", "wsgi:app"]
    os.execv(sys.executable, args)


@main.command("tick")
@click.option("--dry-run", is_flag=True, help="do the work in a transaction that is rolled back; write nothing")
@click.option("-v", "--verbose", is_flag=True, help="log every decision (which campaign starts, why) to stderr")
def tick_command(dry_run: bool, verbose: bool):
    """One scheduler pass; run it every minute from cron (overlapping runs on several hosts are safe).

    Closes instances whose recipients are all processed, computes the next send time of armed
    campaigns, and starts the due ones (writing their delivery ledger). It never sends mail itself.
    """
    import logging

    from scheduler.tick import tick

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    click.echo(tick(_engine(), dry_run=dry_run).line())


@main.command("schedule")
@click.argument("campaign_id", type=int)
@click.option("--next", "count", default=10, show_default=True, type=click.IntRange(1, 1000),
              help="how many send times to show")
def schedule_command(campaign_id: int, count: int):
    """Show a campaign's next send times, in its own time zone and in UTC."""
    from engine.models import Campaign
    from scheduler.tick import display_zone, upcoming_sends

    engine = _engine()
    with engine.uow() as uow:
        campaign = uow.session.get(Campaign, campaign_id)
        if campaign is None:
            raise click.ClickException(f"campaign {campaign_id} does not exist")
        try:
            zone_name, zone = display_zone(campaign)
            runs = upcoming_sends(campaign, engine.clock(), count)
        except ValueError as exc:
            raise click.ClickException(f"campaign {campaign_id} has an invalid schedule: {exc}") from None
        click.echo(f"campaign {campaign.id} \"{campaign.name}\": {campaign.status}, {campaign.schedule_type}, "
                   f"time zone {zone_name}")
        if not runs:
            click.echo("no send times left")
        width = len(str(len(runs)))
        for number, run in enumerate(runs, 1):
            local = run.astimezone(zone)
            click.echo(f"{number:>{width}}  {local:%Y-%m-%d %H:%M:%S} {local.tzname() or ''}"
                       f"  =  {run:%Y-%m-%d %H:%M:%S} UTC")


if __name__ == "__main__":
    main()
