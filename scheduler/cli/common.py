"""What every command shares: opening the engine, and the one-line answer when the set-up is wrong."""
from __future__ import annotations

import click
from sqlalchemy.exc import InterfaceError, OperationalError, ProgrammingError

from engine import bootstrap
from engine.config import Settings
from engine.installation import SetupError, explain, is_undefined_object

# Exit statuses besides click's 0 (done) and 1 (the command refused, its message says why).
EX_SETUP = 2         # configuration or database problem: one line on stderr saying what to do
EX_NOT_SENDING = 3   # tick: campaigns wait for delivery, but this host has no SENDMILL_SMTP_URL
_URL_KEY = "sendmill.database_url"


def settings() -> Settings:
    """The environment's settings; a malformed variable is a SetupError naming it."""
    try:
        found = Settings.from_env()
    except ValueError as exc:
        raise SetupError(str(exc)) from None
    context = click.get_current_context(silent=True)
    if context is not None:
        context.meta[_URL_KEY] = found.database_url
    return found


def open_engine():
    """The Engine of the environment's installation (SetupError when the database cannot be used yet)."""
    return bootstrap(settings())


class SendmillGroup(click.Group):
    """Turns whatever keeps a command from using its database into one line on stderr and exit status 2:
    an operator reads what to do (`run sendmill init-db`, which URL form to use), not a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SetupError as exc:
            _fail(ctx, exc.message)
        except (OperationalError, InterfaceError) as exc:
            # The server's refusals (unreachable, gone away, locked, a table SQLite does not have).
            _fail(ctx, explain(exc, ctx.meta.get(_URL_KEY, "")))
        except ProgrammingError as exc:
            if not is_undefined_object(exc):
                raise           # any other statement error is a bug and keeps its traceback
            _fail(ctx, explain(exc, ctx.meta.get(_URL_KEY, "")))


def _fail(ctx: click.Context, message: str):
    click.echo(f"sendmill: {message}", err=True)
    ctx.exit(EX_SETUP)
