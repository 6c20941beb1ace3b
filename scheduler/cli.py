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


@main.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--list", "list_id", type=int, required=True, help="the ID of the list to import into")
@click.option("--user", "username", required=True, help="the user name of the list's owner")
@click.option("--update-existing", is_flag=True,
              help="rewrite the mapped fields of addresses already in the list (default: count them as duplicates)")
@click.option("--map", "mappings", multiple=True, metavar="COLUMN=FIELD",
              help="map a CSV column to EmailAddress or a custom field (CustomField12, 12, or its name); "
                   "repeatable. Without --map, columns named like a field are used.")
@click.option("--delimiter", default=",", show_default=True, help="the field separator (\\t for tabs)")
@click.option("--quote", default='"', show_default=True, help="the quote character ('' for none)")
def import_command(csv_file: Path, list_id: int, username: str, update_existing: bool, mappings: tuple[str, ...],
                   delimiter: str, quote: str):
    """Import subscribers into a list from a CSV file with a header row, streaming it (any size).

    Batches are committed as they go, so an interrupted import keeps what it imported; running
    it again counts those rows as duplicates (or updates them with --update-existing).
    """
    from sqlalchemy import func, select

    from engine.auth import Actor, permissions_of
    from engine.errors import DomainError, ListNotFound
    from engine.importer import ImportOptions
    from engine.models import User

    mapping = None
    if mappings:
        mapping = {}
        for item in mappings:
            column, sep, target = item.rpartition("=")
            if not sep or not column.strip():
                raise click.BadParameter(f"{item!r}: use COLUMN=FIELD, e.g. --map email=EmailAddress", param_hint="--map")
            mapping[column.strip()] = target.strip()
    options = ImportOptions(mapping=mapping, update_existing=update_existing, delimiter=delimiter, quotechar=quote)
    engine = _engine()
    with engine.uow() as uow:
        user = uow.session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))
        if user is None:
            raise click.ClickException(f"there is no user named {username!r}; give the list owner's user name "
                                       "(Users.Get over the API lists them)")
        actor = Actor("user", user.id, permissions_of(user.group.permissions))
        done = 0
        with csv_file.open("rb") as stream, click.progressbar(length=csv_file.stat().st_size, file=sys.stderr,
                                                              label=f"importing {csv_file.name}") as bar:
            def progress(report):
                nonlocal done
                uow.commit()
                bar.update(max(report.bytes_read - done, 0))
                done = max(done, report.bytes_read)

            try:
                report = uow.subscribers.import_csv(actor, list_id, stream, options, progress=progress)
            except ListNotFound:
                raise click.ClickException(f"list {list_id} does not exist or does not belong to {username}; "
                                           "check the ID with Lists.Get") from None
            except DomainError as exc:
                raise click.ClickException(f"{exc.message}; nothing more was imported") from None
        uow.commit()
    click.echo(f"{report.total_rows} rows: {report.imported} imported, {report.updated} updated, "
               f"{report.duplicates} duplicates, {report.failed} failed")
    for failure in report.failures:
        click.echo(f"  row {failure.row}{f' <{failure.email}>' if failure.email else ''}: {failure.reason}")
    if report.failed > len(report.failures):
        click.echo(f"  … and {report.failed - len(report.failures)} more failed rows")
    if report.failed:
        click.echo("Fix the failed rows and import the file again: rows already imported count as duplicates "
                   "(or are updated with --update-existing).")


@main.command("audience")
@click.argument("campaign_id", type=int)
@click.option("--sample", default=10, show_default=True, type=click.IntRange(0, 10_000),
              help="how many recipients to list")
def audience_command(campaign_id: int, sample: int):
    """Show whom a campaign would mail now: the count, the first recipients and the SQL (reads only)."""
    from engine.errors import DomainError
    from engine.models import Campaign

    engine = _engine()
    with engine.uow() as uow:
        campaign = uow.session.get(Campaign, campaign_id)
        if campaign is None:
            raise click.ClickException(f"campaign {campaign_id} does not exist")
        try:
            result = uow.audience.preview_campaign(campaign, sample)
        except DomainError as exc:
            raise click.ClickException(f"campaign {campaign_id} has no usable audience: {exc.message}") from None
        click.echo(f'campaign {campaign_id} "{campaign.name}" ({campaign.status}): {result.total} recipients')
        for subscriber in result.recipients:
            click.echo(f"  {subscriber.id}  {subscriber.email_address}  (list {subscriber.list_id})")
        if result.total > len(result.recipients):
            click.echo(f"  … and {result.total - len(result.recipients)} more")
        click.echo("SQL (values inlined for reading):")
        click.echo(result.sql)


if __name__ == "__main__":
    main()
