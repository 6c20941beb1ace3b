"""`sendmill import`: a CSV file of any size streamed into a list."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from scheduler.cli import common


IMPORT_ROWS_FAILED = 65   # sysexits.h EX_DATAERR: some rows failed (listed), the others were imported


@click.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--list", "list_id", type=int, required=True, help="the ID of the list to import into")
@click.option("--user", "username", required=True, help="the user name of the list's owner")
@click.option("--update-existing", is_flag=True,
              help="rewrite the mapped fields of addresses already in the list (default: count them as duplicates)")
@click.option("--map", "mappings", multiple=True, metavar="COLUMN=FIELD",
              help="map a CSV column to EmailAddress or a custom field (CustomField12, 12, or its name); "
                   "repeatable. Without --map, columns named like a field are used.")
@click.option("--trigger-actions/--no-trigger-actions", "--trigger-autoresponders", "trigger", default=False,
              show_default=True,
              help="new subscribers start the list's OnSubscription autoresponders and ListSubscription journeys, "
                   "as Subscribers.Import's TriggerAutoResponders / TriggerActions (--trigger-autoresponders is "
                   "the same flag); off by default, as there: an imported file is usually people who subscribed "
                   "long ago")
@click.option("--delimiter", default=",", show_default=True, help="the field separator (\\t for tabs)")
@click.option("--quote", default='"', show_default=True, help="the quote character ('' for none)")
def import_command(csv_file: Path, list_id: int, username: str, update_existing: bool, mappings: tuple[str, ...],
                   trigger: bool, delimiter: str, quote: str):
    """Import subscribers into a list from a CSV file with a header row, streaming it (any size).

    Batches are committed as they go, so an interrupted import keeps what it imported; running
    it again counts those rows as duplicates (or updates them with --update-existing). Failed and
    malformed rows are listed with their line numbers. Exit status: 0 when no row failed, 65 when
    some rows failed (the others were imported), 1 when nothing could be imported (file, list, user).
    """
    from sqlalchemy import func, select

    from engine.accounts.auth import Actor, permissions_of
    from engine.errors import DomainError, ListNotFound
    from engine.audience.importer import ImportOptions
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
    options = ImportOptions(mapping=mapping, update_existing=update_existing, delimiter=delimiter, quotechar=quote,
                            trigger_autoresponders=trigger)
    engine = common.open_engine()
    with engine.uow() as uow:
        user = uow.session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))
        if user is None:
            raise click.ClickException(f"there is no user named {username!r}; give the list owner's user name "
                                       "(Users.Get over the API lists them)")
        actor = Actor("user", user.id, permissions_of(user.group.permissions))
        done = 0
        with csv_file.open("rb") as stream, click.progressbar(length=csv_file.stat().st_size, file=sys.stderr,
                                                              label=_label(csv_file, trigger)) as bar:
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
    if trigger:
        click.echo(f"autoresponders: the {report.imported} new subscribers were handed to the list's "
                   "on-subscription autoresponders (they send on the next `sendmill tick`)")
    for failure in report.failures:
        click.echo(f"  row {failure.row}{f' <{failure.email}>' if failure.email else ''}: {failure.reason}")
    if report.failed > len(report.failures):
        click.echo(f"  … and {report.failed - len(report.failures)} more failed rows")
    if report.failed:
        click.echo("Fix the failed rows and import the file again: rows already imported count as duplicates "
                   "(or are updated with --update-existing).")
        sys.exit(IMPORT_ROWS_FAILED)


def _label(csv_file: Path, trigger: bool) -> str:
    return f"importing {csv_file.name} ({'triggering' if trigger else 'not triggering'} autoresponders and journeys)"


COMMANDS = (import_command,)
