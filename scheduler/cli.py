"""The `sendmill` command line: set-up, serving, and the cron entry points."""
from __future__ import annotations

import gc
import os
import secrets
import sys
from contextlib import contextmanager
from pathlib import Path

import click

from engine import bootstrap
from scheduler.serving import DEFAULT_THREADS, DEFAULT_WORKERS, MAX_THREADS, gunicorn_args


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
    ctx.invoke(serve, bind=bind, workers=DEFAULT_WORKERS, threads=DEFAULT_THREADS)


@main.command("serve")
@click.option("--bind", default="127.0.0.1:8080", show_default=True, help="HOST:PORT to listen on")
@click.option("--workers", default=DEFAULT_WORKERS, show_default=True, type=click.IntRange(1, 64),
              help="gunicorn worker processes")
@click.option("--threads", default=DEFAULT_THREADS, show_default=True, type=click.IntRange(1, MAX_THREADS),
              help="request threads per worker (each holds a database connection while it works)")
def serve(bind: str, workers: int, threads: int):
    """Serve /api.php, the REST API and the public pages with gunicorn's threaded workers."""
    from engine.config import default_data_dir

    project_root = Path(__file__).resolve().parents[1]  # where wsgi.py lives
    args = gunicorn_args(bind, workers=workers, threads=threads, project_root=project_root,
                         data_dir=default_data_dir())
    os.execv(sys.executable, [sys.executable, *args])


@main.command("tick")
@click.option("--dry-run", is_flag=True, help="do the work in a transaction that is rolled back; write nothing")
@click.option("-v", "--verbose", is_flag=True, help="log every decision (which campaign starts, why) to stderr")
@click.option("--send-budget", default=50.0, show_default=True, type=click.FloatRange(0, 3600),
              help="then deliver for up to this many seconds through SENDMILL_SMTP_URL (0: schedule only)")
def tick_command(dry_run: bool, verbose: bool, send_budget: float):
    """One scheduler pass; run it every minute from cron (overlapping runs on several hosts are safe).

    Closes instances whose recipients are all processed, computes the next send time of armed
    campaigns, and starts the due ones (writing their delivery ledger). Then it runs one webhook
    pass (at most 10 s, like `sendmill webhooks --once`) and delivers for up to --send-budget
    seconds, like `sendmill worker` (skipped when SENDMILL_SMTP_URL is not set).
    """
    import logging

    from scheduler.tick import tick

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    engine = _engine()
    click.echo(tick(engine, dry_run=dry_run).line())
    if dry_run:
        return
    try:
        _webhooks_pass(engine, budget=10.0, quiet=True)
    except Exception as exc:  # noqa: BLE001 - a webhook problem must not stop this tick's sending
        click.echo(f"webhooks: pass failed, retried on the next tick: {exc}", err=True)
    if send_budget <= 0:
        return
    if not engine.settings.smtp_url:
        # Scheduling-only installations (separate `sendmill worker` hosts) keep their one-line output.
        logging.getLogger("sendmill.delivery").info("not sending: SENDMILL_SMTP_URL is not set")
        return
    try:
        _confirmations_pass(engine, quiet=True)
    except Exception as exc:  # noqa: BLE001 - like webhooks: campaigns still go out this tick
        click.echo(f"confirmations: pass failed, retried on the next tick: {exc}", err=True)
    summary = _deliver(engine, budget=send_budget, batch=200, lease=300.0, quiet=True)
    click.echo(f"send: {summary.line()}")


def _confirmations_pass(engine, *, quiet: bool):
    """Send the double opt-in confirmation emails that are due (engine/confirmations.py)."""
    from engine.confirmations import send_due_confirmations
    from engine.test_sends import SmtpNotConfigured

    try:
        summary = send_due_confirmations(engine, budget_seconds=20.0)
    except SmtpNotConfigured as exc:
        raise click.ClickException(exc.message) from None
    if not quiet or summary.sent or summary.failed or summary.retried:
        click.echo(f"confirmations: {summary.line()}")
    return summary


def _webhooks_pass(engine, *, budget: float, quiet: bool):
    from engine.webhooks import dispatch

    summary = dispatch(engine, budget=budget)
    if summary.busy or not quiet:
        click.echo(summary.line())
    return summary


@main.command("webhooks")
@click.option("--once", is_flag=True, help="one pass (fan out, then POST what is due), then exit")
@click.option("--interval", default=5.0, show_default=True, type=click.FloatRange(0.1, 3600),
              help="seconds between passes in loop mode")
def webhooks_command(once: bool, interval: float):
    """Deliver outbox events to the registered webhook URLs (signed JWTs, retried with backoff).

    Without --once it runs until SIGTERM / Ctrl-C, printing a line for every pass that did
    something. Several of these (and `sendmill tick`, which runs one pass) may run at once:
    each delivery is claimed by compare-and-set before it is POSTed.
    """
    import signal
    import threading

    engine = _engine()
    if once:
        _webhooks_pass(engine, budget=300.0, quiet=False)
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    click.echo(f"delivering webhooks every {interval:g} s (Ctrl-C stops)")
    while not stop.is_set():
        _webhooks_pass(engine, budget=max(interval, 30.0), quiet=True)
        stop.wait(interval)


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
                raise click.BadParameter(f"{item!r}: use COLUMN=FIELD, e.g. --map email=EmailAddress",
                                         param_hint="--map")
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


def _deliver(engine, *, budget: float, batch: int, lease: float, quiet: bool, concurrency: int | None = None):
    import signal
    from datetime import timedelta

    from engine.delivery.relays import RelayConfigError
    from engine.delivery.runner import DeliveryRunner, smtp_transport

    try:
        transport = smtp_transport(engine.settings)
    except RelayConfigError as exc:
        raise click.ClickException(str(exc)) from None

    def progress(summary):
        if not quiet:
            click.echo(f"batch {summary.batches}: {summary.line()}")

    from engine.delivery.throttle_state import load_throttle_state, save_throttle_state

    try:
        engine.settings.dkim_key()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    transport.restore(load_throttle_state(engine))   # slowed-down relays and domains stay slowed down
    runner = DeliveryRunner(engine, transport, batch_size=batch, lease=timedelta(seconds=lease), progress=progress,
                            concurrency=concurrency or engine.settings.send_concurrency)
    # SIGTERM / Ctrl-C: finish the message in flight, hand the rest of the batch back, then stop.
    signal.signal(signal.SIGTERM, runner.stop)
    signal.signal(signal.SIGINT, runner.stop)
    try:
        with _collector_tuned_for_sending():
            return runner.run_once(budget)
    finally:
        save_throttle_state(engine, transport.snapshot())
        transport.close()


@contextmanager
def _collector_tuned_for_sending():
    """Python's cycle collector tuned for the send loop (about 7% less CPU per message, bench/send.py);
    the previous settings come back afterwards.

    What is alive when sending starts (modules, the ORM's metadata, compiled statements) stays alive:
    frozen, no collection walks it again. Every message allocates a few dozen containers (the SMTP
    conversation's generators, rows, tuples) that reference counting frees; at the default threshold of
    700 a young-generation collection ran every twenty-odd messages only to find them gone. A host
    program that froze objects itself keeps its choice (unfreezing would undo it too)."""
    freezing = gc.get_freeze_count() == 0
    if freezing:
        gc.collect()
        gc.freeze()
    previous = gc.get_threshold()
    gc.set_threshold(10_000, *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        if freezing:
            gc.unfreeze()


@main.command("worker")
@click.option("--budget", default=3600.0, show_default=True, type=click.FloatRange(0.1, 86400),
              help="stop after this many seconds (the batch in flight is handed back)")
@click.option("--batch", default=200, show_default=True, type=click.IntRange(1, 10_000),
              help="recipients claimed per batch")
@click.option("--lease", default=300.0, show_default=True, type=click.FloatRange(1, 86400),
              help="seconds a claimed batch stays reserved; a crashed worker's rows become 'unknown' after it")
@click.option("--concurrency", type=click.IntRange(1, 100), default=None,
              help="messages in flight at once, one relay connection each [default: SENDMILL_SEND_CONCURRENCY or 8]")
def worker_command(budget: float, batch: int, lease: float, concurrency: int | None):
    """Deliver the pending recipients of Sending campaigns through SENDMILL_SMTP_URL.

    Runs until nothing is left to claim or the budget is spent; each recipient is sent at most
    once, even across crashes (a message whose outcome was lost is marked 'unknown', not resent).
    """
    engine = _engine()
    if engine.settings.smtp_url:
        _confirmations_pass(engine, quiet=False)
    summary = _deliver(engine, budget=budget, batch=batch, lease=lease, quiet=False, concurrency=concurrency)
    reason = "nothing left to send" if summary.idle else "budget spent"
    peak = _peak_memory_mb()
    click.echo(f"worker done ({reason}): {summary.line()}" + (f"; peak memory {peak:.1f} MB" if peak else ""))


def _peak_memory_mb() -> float | None:
    """This process's peak resident memory. Linux's VmHWM belongs to the program image, so unlike
    getrusage's ru_maxrss it does not start from the peak of the process that spawned the worker."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


EX_OK, EX_DATAERR, EX_TEMPFAIL = 0, 65, 75   # sysexits.h: what an MTA pipe transport understands


@main.command("bounce")
@click.option("--recipient", "recipients", multiple=True, metavar="ADDRESS",
              help="envelope recipient (default: ORIGINAL_RECIPIENT / RECIPIENT from the MTA's environment)")
@click.pass_context
def bounce_command(ctx, recipients: tuple[str, ...]):
    """Record the bounce or complaint piped on stdin (Postfix pipe(8), Exim pipe transport).

    Exit 0 when handled (also when the message reports nothing we act on), 65 when it is not an
    email message or is too large (the MTA returns it), 75 when recording failed (the MTA retries).
    """
    from email.parser import BytesHeaderParser

    from engine.inbound import MessageTooLarge, read_message_from_stdin

    try:
        message = read_message_from_stdin(recipients=list(recipients) or None)
    except MessageTooLarge as exc:
        click.echo(f"sendmill bounce: {exc}", err=True)
        ctx.exit(EX_DATAERR)
    if not message.data.strip() or not BytesHeaderParser().parsebytes(message.data).keys():
        click.echo("sendmill bounce: stdin holds no email message", err=True)
        ctx.exit(EX_DATAERR)
    try:
        engine = _engine()
        with engine.uow() as uow:
            found, recorded = uow.events.record_message(message.data, message.rcpt_tos)
            uow.commit()
    except Exception as exc:   # the database is away or locked: keep the message queued at the MTA
        click.echo(f"sendmill bounce: could not record the message, retry later: {exc}", err=True)
        ctx.exit(EX_TEMPFAIL)
    click.echo(f"{found} event(s) found, {recorded} recorded")
    ctx.exit(EX_OK)


def inbound_server(engine, host: str, port: int, *, domains=(), addresses=()):
    """An InboundServer (not started) that records every accepted message through EventService."""
    import logging

    from engine.bounces.origin import verp_decoder
    from engine.inbound import InboundServer

    log = logging.getLogger("sendmill.inbound")

    def on_message(message) -> None:
        # Raising makes the server answer 451, so the sending MTA keeps the message and retries.
        with engine.uow() as uow:
            found, recorded = uow.events.record_message(message.data, message.rcpt_tos, ip=message.peer or "")
            uow.commit()
        log.info("%s: %d event(s), %d recorded", message.peer, found, recorded)

    with engine.uow() as uow:
        decode = verp_decoder(uow.events.signer)
    return InboundServer(host, port, on_message, domains=domains, addresses=addresses,
                         prefixes=("bounce", "unsubscribe"), decode_verp=decode)


@main.command("inbound")
@click.option("--bind", default="127.0.0.1:2525", show_default=True, help="HOST:PORT to listen on")
@click.option("--domain", "domains", multiple=True, help="bounce domain to accept (repeatable; default: any)")
@click.option("--address", "addresses", multiple=True,
              help="extra mailbox to accept, e.g. a feedback-loop address (repeatable)")
def inbound_command(bind: str, domains: tuple[str, ...], addresses: tuple[str, ...]):
    """Receive bounces, complaints and mailto unsubscriptions over SMTP and record them.

    Only `bounce+<token>@` / `unsubscribe+<token>@` addresses with a valid token (and the --address
    mailboxes) are accepted; every other recipient gets 550, so this never relays.
    """
    import logging
    import signal
    import threading

    host, _, port = bind.rpartition(":")
    if not host or not port.isdecimal():
        raise click.BadParameter("expected HOST:PORT", param_hint="--bind")
    logging.basicConfig(level=logging.INFO)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with inbound_server(_engine(), host.strip("[]"), int(port), domains=domains, addresses=addresses) as server:
        click.echo(f"listening for bounces on {host}:{server.port}")
        stop.wait()


if __name__ == "__main__":
    main()
