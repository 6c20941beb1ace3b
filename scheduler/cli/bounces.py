"""Mail coming back: bounces and complaints piped by an MTA (`bounce`) or received over SMTP (`inbound`)."""
from __future__ import annotations

import click

from scheduler.cli import common

EX_OK, EX_DATAERR, EX_TEMPFAIL = 0, 65, 75   # sysexits.h: what an MTA pipe transport understands


@click.command("bounce")
@click.option("--recipient", "recipients", multiple=True, metavar="ADDRESS",
              help="envelope recipient (default: ORIGINAL_RECIPIENT / RECIPIENT from the MTA's environment)")
@click.pass_context
def bounce_command(ctx, recipients: tuple[str, ...]):
    """Record the bounce or complaint piped on stdin (Postfix pipe(8), Exim pipe transport).

    Exit 0 when handled (also when the message reports nothing we act on), 65 when it is not an
    email message or is too large (the MTA returns it), 75 when recording failed (the MTA retries).
    """
    from email.parser import BytesHeaderParser

    from engine.bounces.inbound import MessageTooLarge, read_message_from_stdin

    try:
        message = read_message_from_stdin(recipients=list(recipients) or None)
    except MessageTooLarge as exc:
        click.echo(f"sendmill bounce: {exc}", err=True)
        ctx.exit(EX_DATAERR)
    if not message.data.strip() or not BytesHeaderParser().parsebytes(message.data).keys():
        click.echo("sendmill bounce: stdin holds no email message", err=True)
        ctx.exit(EX_DATAERR)
    try:
        engine = common.open_engine()
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
    from engine.bounces.inbound import InboundServer

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


@click.command("inbound")
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
    engine = common.open_engine()
    with inbound_server(engine, host.strip("[]"), int(port), domains=domains, addresses=addresses) as server:
        click.echo(f"listening for bounces on {host}:{server.port}")
        stop.wait()


COMMANDS = (bounce_command, inbound_command)
