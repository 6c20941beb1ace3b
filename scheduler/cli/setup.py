"""Setting an installation up and serving it: init-db, create-admin, set-password, up, serve."""
from __future__ import annotations

import os
import secrets
import sys
from dataclasses import replace
from pathlib import Path

import click

from scheduler.cli import common
from scheduler.serving import DEFAULT_THREADS, DEFAULT_WORKERS, MAX_THREADS, gunicorn_args


ALLOW_SENDER_DOMAIN = click.option(
    "--allow-sender-domain", "sender_domains", multiple=True, metavar="DOMAIN",
    help="let the default user group's accounts send From this domain and its subdomains besides their "
         "verified sender emails (repeatable; * = any From, for legacy clients)")


@click.command("init-db")
@ALLOW_SENDER_DOMAIN
def init_db(sender_domains: tuple[str, ...] = ()):
    """Create or upgrade the database, its signing key and the default user group (safe to re-run).

    The signing key is made once per installation and kept in the database, where every process
    (serve, tick, worker, inbound, bounce) reads it. A key already in use is imported instead of
    generating one, so links already mailed keep working: SENDMILL_SECRET_KEY when set, else the
    secret.key file of an earlier version (in the data folder, then in ./data).
    """
    from engine import bootstrap
    from engine.config import default_data_dir, legacy_data_dir
    from engine.errors import InvalidValue
    from engine.installation import ensure_signing_key, legacy_key_files, open_database, shown_url
    from engine.migrate import upgrade

    settings = common.settings()
    db = open_database(settings.database_url, creating=True)
    upgrade(db)
    candidates = [("taken from SENDMILL_SECRET_KEY", settings.secret_key),
                  *legacy_key_files(default_data_dir(), legacy_data_dir())]
    key, origin = ensure_signing_key(db, candidates)
    engine = bootstrap(replace(settings, secret_key=settings.secret_key or key), db=db)
    with engine.uow() as uow:
        group = uow.accounts.ensure_default_group()
        try:
            allowed = uow.accounts.allow_sender_domains(group.id, sender_domains)
        except InvalidValue as exc:
            raise click.BadParameter(exc.message, param_hint="--allow-sender-domain") from None
        uow.commit()
    click.echo(f"database ready at {shown_url(settings.database_url)} (default user group #{group.id})")
    click.echo("signing key: " + ("already in the database" if origin == "kept"
                                  else f"{origin}, stored in the database"))
    if settings.secret_key and settings.secret_key != key:
        click.echo("signing key: SENDMILL_SECRET_KEY differs from the stored key; processes that have it set sign "
                   "with it instead", err=True)
    click.echo(_sender_policy_line(settings.allowed_sender_domains, allowed))


def _sender_policy_line(installation: tuple[str, ...], group: tuple[str, ...]) -> str:
    """What From addresses the default group's accounts may use, and how to allow more (README)."""
    if "*" in installation or "*" in group:
        return "From addresses: any (AllowedSenderDomains or SENDMILL_ALLOWED_SENDER_DOMAINS is *)"
    allowed = [f"{', '.join(domains)} ({where})" for domains, where in
               ((installation, "SENDMILL_ALLOWED_SENDER_DOMAINS"), (group, "default user group")) if domains]
    if allowed:
        return f"From addresses: verified sender emails, and addresses at {'; '.join(allowed)}"
    return ("From addresses: only verified sender emails. To let accounts send from their own domain, "
            "run `sendmill init-db --allow-sender-domain example.com`, set UserGroup.Update "
            "AllowedSenderDomains, or SENDMILL_ALLOWED_SENDER_DOMAINS (* = any From)")


@click.command("create-admin")
@click.option("--username", required=True, help="the administrator's login name")
@click.option("--password", help="the password (default: SENDMILL_ADMIN_PASSWORD, else one is generated)")
@click.option("--if-missing", is_flag=True, help="do nothing when this administrator already exists")
@click.option("--reset", is_flag=True, help="when this administrator exists, give it the password instead "
                                            "(a lost password; its open sessions are closed)")
def create_admin(username: str, password: str | None, if_missing: bool, reset: bool):
    """Create an administrator who can then create users over the protocol."""
    from engine.errors import AlreadyExists

    if if_missing and reset:
        raise click.UsageError("--if-missing and --reset contradict each other: choose one")
    password = password or os.environ.get("SENDMILL_ADMIN_PASSWORD")
    generated = password is None
    if generated:
        password = secrets.token_urlsafe(12)
    engine = common.open_engine()
    with engine.uow() as uow:
        try:
            uow.accounts.create_admin(username, password)
            uow.commit()
            taken = None
        except AlreadyExists as exc:
            taken = exc.message
    if taken is None:
        click.echo(f"administrator created: username={username} "
                   f"password={password if generated else '(as given)'}")
    elif if_missing:
        click.echo(f"administrator {username!r} already exists; left unchanged")
    elif reset:
        _set_password(engine, username, password, generated)
    else:
        raise click.ClickException(f"{taken}; choose another --username, or give it a new password with --reset")


@click.command("set-password")
@click.option("--username", required=True, help="the administrator whose password is lost")
@click.option("--password", help="the new password (default: asked for, without echo)")
@click.option("--generate", is_flag=True, help="make up a password and print it once instead of asking")
def set_password(username: str, password: str | None, generate: bool):
    """Give an administrator a new password (a lost one); its open sessions are closed.

    Users' passwords are changed over the protocol, by an administrator (User.Update).
    """
    if password and generate:
        raise click.UsageError("give --password or --generate, not both")
    if generate:
        password = secrets.token_urlsafe(12)
    elif not password:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    _set_password(common.open_engine(), username, password, generate)


def _set_password(engine, username: str, password: str, generated: bool) -> None:
    from engine.errors import UserNotFound

    with engine.uow() as uow:
        try:
            closed = uow.accounts.set_admin_password(username, password)
        except UserNotFound as exc:
            raise click.ClickException(f"{exc.message}; create it with `sendmill create-admin`") from None
        uow.commit()
    shown = f"password={password}" if generated else "password changed"
    click.echo(f"administrator {username}: {shown}; {closed} open session(s) closed")


@click.command("up")
@click.option("--bind", default="127.0.0.1:8080", show_default=True, help="HOST:PORT to listen on")
@click.option("--username", default=lambda: os.environ.get("SENDMILL_ADMIN_USERNAME", "admin"),
              show_default="admin or SENDMILL_ADMIN_USERNAME", help="the administrator to make sure of")
@ALLOW_SENDER_DOMAIN
@click.pass_context
def up(ctx, bind: str, username: str, sender_domains: tuple[str, ...]):
    """Quick start: init-db, make sure an administrator exists, then serve."""
    ctx.invoke(init_db, sender_domains=sender_domains)
    ctx.invoke(create_admin, username=username, password=None, if_missing=True)
    click.echo(f"serving /api.php on http://{bind}/api.php  (log in with Admin.Login)")
    ctx.invoke(serve, bind=bind, workers=DEFAULT_WORKERS, threads=DEFAULT_THREADS)


@click.command("serve")
@click.option("--bind", default="127.0.0.1:8080", show_default=True, help="HOST:PORT to listen on")
@click.option("--workers", default=DEFAULT_WORKERS, show_default=True, type=click.IntRange(1, 64),
              help="gunicorn worker processes")
@click.option("--threads", default=DEFAULT_THREADS, show_default=True, type=click.IntRange(1, MAX_THREADS),
              help="request threads per worker (each holds a database connection while it works)")
def serve(bind: str, workers: int, threads: int):
    """Serve /api.php, the REST API and the public pages with gunicorn's threaded workers."""
    from engine.config import default_data_dir

    # The database is checked here, once, so a wrong URL is one line rather than every gunicorn worker
    # failing to boot (wsgi.py answers the same way when started by a process manager directly).
    common.open_engine().db.dispose()
    project_root = Path(__file__).resolve().parents[2]  # where wsgi.py lives
    args = gunicorn_args(bind, workers=workers, threads=threads, project_root=project_root,
                         data_dir=default_data_dir())
    os.execv(sys.executable, [sys.executable, *args])


COMMANDS = (init_db, create_admin, set_password, up, serve)
