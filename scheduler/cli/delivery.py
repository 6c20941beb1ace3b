"""What the tick and the worker share: the delivery runner with its SMTP pool and saved rates, the double
opt-in, import, automated-report and webhook passes, stopping on SIGTERM, and the worker's report of its own memory."""
from __future__ import annotations

import gc
import signal
from contextlib import contextmanager
from datetime import timedelta
from typing import Callable

import click


def confirmations_pass(engine, *, quiet: bool):
    """Send the double opt-in confirmation emails that are due (engine/audience/confirmations.py)."""
    from engine.audience.confirmations import send_due_confirmations
    from engine.delivery.one_off import SmtpNotConfigured

    try:
        summary = send_due_confirmations(engine, budget_seconds=20.0)
    except SmtpNotConfigured as exc:
        raise click.ClickException(exc.message) from None
    if not quiet or summary.sent or summary.failed or summary.retried:
        click.echo(f"confirmations: {summary.line()}")
    return summary


def imports_pass(engine, *, budget: float, quiet: bool):
    """Work on queued subscriber imports (engine/audience/import_jobs.py) for up to `budget` seconds."""
    from engine.audience.import_runner import run_import_jobs

    summary = run_import_jobs(engine, budget_seconds=budget)
    if summary.jobs or not quiet:
        click.echo(summary.line())
    return summary


def reports_pass(engine, *, quiet: bool):
    """Mail the automated reports whose period is over (engine/campaigns/automated_reports.py)."""
    from engine.campaigns.report_mail import send_due_reports

    summary = send_due_reports(engine)
    if summary.sent or summary.failed or not quiet:
        click.echo(summary.line())
    return summary


def webhooks_pass(engine, *, budget: float, quiet: bool):
    from engine.events.webhook_dispatch import dispatch

    summary = dispatch(engine, budget=budget)
    if summary.busy or not quiet:
        click.echo(summary.line())
    return summary


@contextmanager
def delivery_runner(engine, *, batch: int, lease: float, quiet: bool, concurrency: int | None = None):
    """(runner, save_rates): a DeliveryRunner on the SMTP pool of SENDMILL_SMTP_URL, for the block.

    The rates the relays and recipient domains were slowed to come back from the database on entry and
    are saved on exit (save_rates() saves them sooner), and Python's collector is tuned for sending."""
    from engine.delivery.relays import RelayConfigError
    from engine.delivery.runner import DeliveryRunner, smtp_transport
    from engine.delivery.throttle_state import load_throttle_state, save_throttle_state

    try:
        engine.settings.dkim_key()
        transport = smtp_transport(engine.settings)
    except (RelayConfigError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None

    def progress(summary):
        if not quiet:
            click.echo(f"batch {summary.batches}: {summary.line()}")

    transport.restore(load_throttle_state(engine))   # slowed-down relays and domains stay slowed down
    runner = DeliveryRunner(engine, transport, batch_size=batch, lease=timedelta(seconds=lease), progress=progress,
                            concurrency=concurrency or engine.settings.send_concurrency)

    def save_rates():
        save_throttle_state(engine, transport.snapshot())

    try:
        with _collector_tuned_for_sending():
            yield runner, save_rates
    finally:
        save_rates()
        transport.close()


def deliver(engine, *, budget: float, batch: int, lease: float, quiet: bool, concurrency: int | None = None):
    """One delivery run: until nothing is claimable, the budget is spent, or SIGTERM / Ctrl-C."""
    with delivery_runner(engine, batch=batch, lease=lease, quiet=quiet, concurrency=concurrency) as (runner, _), \
            stopped_by_signals(runner.stop):
        return runner.run_once(budget)


@contextmanager
def stopped_by_signals(*handlers: Callable[[], None]):
    """SIGTERM and Ctrl-C call each handler (the message in flight still goes out, the rest of the batch is
    handed back); the previous handlers come back afterwards, for programs that run a command in-process."""
    def on_signal(*_):
        for handler in handlers:
            handler()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


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


def peak_memory_mb() -> float | None:
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
