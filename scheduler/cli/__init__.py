"""The `sendmill` command line: set-up, serving, and the cron and long-running entry points.

One module per family: setup (init-db, create-admin, set-password, up, serve), sending (tick, worker,
webhooks; delivery holds what they share), inspection (schedule, audience), importing (import), bounces
(bounce, inbound). common opens the engine and turns set-up problems into one line; environment lists
the variables `sendmill --help` documents.
"""
from __future__ import annotations

import click

from scheduler.cli import bounces, importing, inspection, sending, setup
from scheduler.cli.common import SendmillGroup
from scheduler.cli.environment import help_epilog


@click.group(cls=SendmillGroup, context_settings={"help_option_names": ["-h", "--help"]}, epilog=help_epilog())
def main():
    """Sendmill: a self-hosted email campaign engine speaking the legacy /api.php protocol.

    Start with `sendmill init-db` (or `sendmill up`). Every process of an installation reaches the
    same database and signs links with the key stored there; the variables below configure it.
    """


for _family in (setup, sending, inspection, importing, bounces):
    for _command in _family.COMMANDS:
        main.add_command(_command)


if __name__ == "__main__":
    main()
