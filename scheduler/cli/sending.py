"""The cron and long-running entry points: tick, worker, webhooks."""
from __future__ import annotations

import threading

import click

from scheduler.cli import common
from scheduler.cli.delivery import (
    confirmations_pass, deliver, delivery_runner, imports_pass, peak_memory_mb, reports_pass, stopped_by_signals,
    webhooks_pass,
)


@click.command("tick")
@click.option("--dry-run", is_flag=True, help="do the work in a transaction that is rolled back; write nothing")
@click.option("-v", "--verbose", is_flag=True, help="log every decision (which campaign starts, why) to stderr")
@click.option("--send-budget", default=50.0, show_default=True, type=click.FloatRange(0, 3600),
              help="then deliver for up to this many seconds through SENDMILL_SMTP_URL (0: schedule only)")
@click.pass_context
def tick_command(ctx, dry_run: bool, verbose: bool, send_budget: float):
    """One scheduler pass; run it every minute from cron (overlapping runs on several hosts are safe).

    Closes instances whose recipients are all processed, computes the next send time of armed
    campaigns, and starts the due ones (writing their delivery ledger). Then it runs one webhook
    pass (at most 10 s, like `sendmill webhooks --once`), works on queued subscriber imports for up to
    20 s, mails the automated reports that are due, moves journeys (due ScheduledPull pulls, then
    every due step: README "Journeys") and delivers for up to --send-budget
    seconds, like `sendmill worker --once`, and closes the instances that sending finished, so
    their campaigns are Sent in this tick.

    Without SENDMILL_SMTP_URL nothing can be delivered: when campaigns are waiting for delivery, the
    tick says so on stderr and exits with status 3. A host that only schedules (the sending is done
    by `sendmill worker` elsewhere) passes --send-budget 0.
    """
    import logging

    from scheduler.tick import tick

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    engine = common.open_engine()
    click.echo(tick(engine, dry_run=dry_run).line())
    if dry_run:
        return
    try:
        webhooks_pass(engine, budget=10.0, quiet=True)
    except Exception as exc:  # noqa: BLE001 - a webhook problem must not stop this tick's sending
        click.echo(f"webhooks: pass failed, retried on the next tick: {exc}", err=True)
    _background(engine, import_budget=20.0)
    _journeys(engine)
    if send_budget <= 0:
        return
    if not engine.settings.smtp_url:
        _warn_when_campaigns_wait(ctx, engine)
        return
    try:
        confirmations_pass(engine, quiet=True)
    except Exception as exc:  # noqa: BLE001 - like webhooks: campaigns still go out this tick
        click.echo(f"confirmations: pass failed, retried on the next tick: {exc}", err=True)
    summary = deliver(engine, budget=send_budget, batch=200, lease=300.0, quiet=True)
    click.echo(f"send: {summary.line()}")
    from scheduler.tick import finish_sent

    closed = finish_sent(engine)    # a campaign whose last message just went out is Sent in this tick
    if closed.finished or closed.canceled:
        click.echo(f"after sending: {closed.finished} finished" + (f", {closed.canceled} canceled" if closed.canceled
                                                                   else ""))


def _journeys(engine) -> None:
    """One journey pass; what it did, also when it stopped half-way (its committed batches stay done)."""
    from engine.automation.journeys.runner import PassSummary
    from scheduler.journeys import journeys_pass

    moved = PassSummary()
    try:
        pulled, _ = journeys_pass(engine, summary=moved)
    except Exception as exc:  # noqa: BLE001 - like webhooks: campaigns still go out this tick
        reason = (str(exc).splitlines() or [""])[0]     # a statement error's first line, not its SQL
        click.echo(f"journeys: pass stopped after {moved.line()}: {exc.__class__.__name__}: {reason} "
                   "(those steps are done; the rest is retried on the next tick)", err=True)
        return
    if pulled or moved.steps or moved.held:  # an idle tick stays one line
        click.echo(f"journeys: {pulled} pulled, {moved.line()}")


def _background(engine, *, import_budget: float) -> bool:
    """Queued imports, then the automated reports that are due (when a relay is configured); a failure is
    reported and retried on the next pass, never stops the sending. Answers whether anything was done."""
    done = False
    try:
        done = imports_pass(engine, budget=import_budget, quiet=True).jobs > 0
    except Exception as exc:  # noqa: BLE001 - the committed batches stay; the next pass resumes
        click.echo(f"imports: pass failed, resumed on the next pass: {exc}", err=True)
    if engine.settings.smtp_url:
        try:
            done = reports_pass(engine, quiet=True).sent > 0 or done
        except Exception as exc:  # noqa: BLE001
            click.echo(f"automated reports: pass failed, retried on the next pass: {exc}", err=True)
    return done


def _warn_when_campaigns_wait(ctx: click.Context, engine) -> None:
    """Campaigns left in Sending with nobody to send them would stay there silently: say so, loudly."""
    from engine.delivery.claims import campaigns_awaiting_delivery

    with engine.uow() as uow:
        waiting = campaigns_awaiting_delivery(uow.session)
    if waiting:
        click.echo(f"sendmill tick: {waiting} campaign(s) are Sending but nothing was delivered: SENDMILL_SMTP_URL "
                   "is not set. Set it, or run `sendmill worker` on a host that has it and pass --send-budget 0 "
                   "to this tick.", err=True)
        ctx.exit(common.EX_NOT_SENDING)


@click.command("worker")
@click.option("--once", is_flag=True, help="deliver until nothing is left to claim (or the budget is spent), then exit")
@click.option("--budget", type=click.FloatRange(0.1, 86400), default=None,
              help="stop after this many seconds (the batch in flight is handed back) "
                   "[default: 3600 with --once, else run until stopped]")
@click.option("--batch", default=200, show_default=True, type=click.IntRange(1, 10_000),
              help="recipients claimed per batch")
@click.option("--lease", default=300.0, show_default=True, type=click.FloatRange(1, 86400),
              help="seconds a claimed batch stays reserved; a crashed worker's rows become 'unknown' after it")
@click.option("--concurrency", type=click.IntRange(1, 100), default=None,
              help="messages in flight at once, one relay connection each [default: SENDMILL_SEND_CONCURRENCY or 8]")
@click.option("--max-wait", default=30.0, show_default=True, type=click.FloatRange(1, 3600),
              help="longest pause between two looks for work while idle (the pause doubles from 1 s)")
def worker_command(once: bool, budget: float | None, batch: int, lease: float, concurrency: int | None,
                   max_wait: float):
    """Deliver the pending recipients of Sending campaigns through SENDMILL_SMTP_URL, the due
    autoresponder sends, the due double opt-in confirmations and automated reports, and run queued
    subscriber imports.

    Runs until stopped (SIGTERM or Ctrl-C: the message in flight goes out, the rest of its batch is
    handed back): while there is nothing to send it looks again after 1 s, then 2, 4, … up to
    --max-wait. With --once it exits when nothing is left to claim. Each recipient is sent at most
    once, even across crashes (a message whose outcome was lost is marked 'unknown', not resent).
    """
    engine = common.open_engine()
    if once:
        _background(engine, import_budget=budget or 3600.0)
        if engine.settings.smtp_url:
            confirmations_pass(engine, quiet=False)
        summary = deliver(engine, budget=budget or 3600.0, batch=batch, lease=lease, quiet=False,
                          concurrency=concurrency)
        _report("done", "nothing left to send" if summary.idle else "budget spent", summary)
        return
    _run_until_stopped(engine, budget=budget, batch=batch, lease=lease, concurrency=concurrency, max_wait=max_wait)


def _run_until_stopped(engine, *, budget: float | None, batch: int, lease: float, concurrency: int | None,
                       max_wait: float) -> None:
    from engine.delivery.runner import RunSummary
    from scheduler.polling import Backoff, poll_until_stopped

    total = RunSummary()
    stop = threading.Event()
    with delivery_runner(engine, batch=batch, lease=lease, quiet=False, concurrency=concurrency) as (runner, save), \
            stopped_by_signals(stop.set, runner.stop):
        def one_pass(seconds: float) -> bool:
            background = _background(engine, import_budget=min(seconds, 30.0))
            if engine.settings.smtp_url:
                try:
                    confirmations_pass(engine, quiet=True)
                except Exception as exc:  # noqa: BLE001 - campaigns still go out; the next pass tries again
                    click.echo(f"confirmations: pass failed, retried on the next pass: {exc}", err=True)
            run = runner.run_once(seconds)
            total.add(run)
            if run.batches:
                save()           # a worker killed later keeps what it learnt about the relays' rates
            return background or run.batches > 0 or not run.idle

        def on_idle(pause: float) -> None:
            click.echo(f"nothing to send; looking again in {pause:g} s, then less often (up to every "
                       f"{max_wait:g} s) until there is")

        click.echo("worker running until stopped (SIGTERM or Ctrl-C)")
        reason = poll_until_stopped(one_pass, stop=stop, backoff=Backoff(1.0, max_wait), budget=budget,
                                    on_idle=on_idle)
    _report("stopped" if reason == "stopped" else "done", reason, total)


def _report(verb: str, reason: str, summary) -> None:
    peak = peak_memory_mb()
    click.echo(f"worker {verb} ({reason}): {summary.line()}" + (f"; peak memory {peak:.1f} MB" if peak else ""))


@click.command("webhooks")
@click.option("--once", is_flag=True, help="one pass (fan out, then POST what is due), then exit")
@click.option("--interval", default=5.0, show_default=True, type=click.FloatRange(0.1, 3600),
              help="seconds between passes in loop mode")
def webhooks_command(once: bool, interval: float):
    """Deliver outbox events to the registered webhook URLs (signed JWTs, retried with backoff).

    Without --once it runs until SIGTERM / Ctrl-C, printing a line for every pass that did
    something. Several of these (and `sendmill tick`, which runs one pass) may run at once:
    each delivery is claimed by compare-and-set before it is POSTed.
    """
    engine = common.open_engine()
    if once:
        webhooks_pass(engine, budget=300.0, quiet=False)
        return
    stop = threading.Event()
    with stopped_by_signals(stop.set):
        click.echo(f"delivering webhooks every {interval:g} s (Ctrl-C stops)")
        while not stop.is_set():
            webhooks_pass(engine, budget=max(interval, 30.0), quiet=True)
            stop.wait(interval)


COMMANDS = (tick_command, worker_command, webhooks_command)
