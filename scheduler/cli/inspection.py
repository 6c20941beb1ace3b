"""Looking at a campaign (read only): its next send times, its audience, its deliveries in doubt."""
from __future__ import annotations

import click

from scheduler.cli import common


def _campaign(uow, campaign_id: int):
    """The campaign, or the one line saying it does not exist."""
    from engine.models import Campaign

    campaign = uow.session.get(Campaign, campaign_id)
    if campaign is None:
        raise click.ClickException(f"campaign {campaign_id} does not exist")
    return campaign


@click.command("schedule")
@click.argument("campaign_id", type=int)
@click.option("--next", "count", default=10, show_default=True, type=click.IntRange(1, 1000),
              help="how many send times to show")
def schedule_command(campaign_id: int, count: int):
    """Show a campaign's next send times, in its own time zone and in UTC."""
    from scheduler.tick import display_zone, upcoming_sends

    engine = common.open_engine()
    with engine.uow() as uow:
        campaign = _campaign(uow, campaign_id)
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


@click.command("audience")
@click.argument("campaign_id", type=int)
@click.option("--sample", default=10, show_default=True, type=click.IntRange(0, 10_000),
              help="how many recipients to list")
def audience_command(campaign_id: int, sample: int):
    """Show whom a campaign would mail now: the count, the first recipients and the SQL (reads only)."""
    from engine.errors import DomainError

    engine = common.open_engine()
    with engine.uow() as uow:
        campaign = _campaign(uow, campaign_id)
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


@click.command("unknown")
@click.argument("campaign_id", type=int)
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(1, 1_000_000),
              help="how many deliveries to list")
def unknown_command(campaign_id: int, limit: int):
    """List a campaign's deliveries in doubt ('unknown'): handed to a relay, no answer recorded.

    Sendmill never resends them. Look their Message-IDs up in the relay's log; to resend deliberately,
    send those subscribers a copy of the campaign (README "Delivery").
    """
    from engine.delivery.in_doubt import campaign_in_doubt
    from engine.errors import CampaignNotFound

    with common.open_engine().uow() as uow:
        try:
            found = campaign_in_doubt(uow.session, campaign_id, limit=limit)
        except CampaignNotFound as exc:
            raise click.ClickException(exc.message) from None
    click.echo(f'campaign {found.campaign_id} "{found.name}" ({found.status}): {found.total} deliveries in doubt')
    for row in found.rows:
        click.echo(f"  {row.email}  subscriber {row.subscriber_id}  instance #{row.instance_number}  "
                   f"<{row.message_id}>  {row.reason}")
    if found.total > len(found.rows):
        click.echo(f"  … and {found.total - len(found.rows)} more (--limit)")


COMMANDS = (schedule_command, audience_command, unknown_command)
