"""COMMANDS: the one table from command name to handler, reviewed like a route table."""
from __future__ import annotations

from protocol.command import ANY, REQUIRED_PERMISSIONS, USER, Command
from protocol.commands import campaigns, sessions
from protocol.commands import emails, tags
from protocol.commands import scheduling
from protocol.commands import accounts, administration, apikeys, password_reset, two_factor
from protocol.commands import audience, segments
from protocol.commands import custom_fields, lists, subscribers, suppression
from protocol.commands import import_jobs, public_subscription, subscriber_import, subscriber_sessions
from protocol.commands import email_subscriptions
from protocol.commands import email_account, senders
from protocol.commands import modern_campaigns
from protocol.commands import webhooks
from protocol.commands import subscriber_tags
from protocol.commands import autoresponder_reports, autoresponders
from protocol.commands import email_templates, user_email_templates
from protocol.commands import split_tests
from protocol.commands import campaign_reports, exports, list_overview, list_reports, subscriber_reports, usage
from protocol.commands import automated_reports
from protocol.commands import journey_actions, journey_admin, journey_exports, journeys, subscriber_journeys
from protocol.commands import campaign_retry, email_render, email_tools, list_lifecycle, subscriber_create
from protocol.commands import user_snapshot, usergroup_patch
from protocol.commands import campaign_archive, list_integration, personalization_tags, subscribers_update
from protocol.commands import list_copies, unavailable, user_switch


def index(*groups: tuple[Command, ...]) -> dict[str, Command]:
    table: dict[str, Command] = {}
    for group in groups:
        for command in group:
            key = command.name.lower()
            if key in table:
                raise RuntimeError(f"command {command.name} is registered twice")
            table[key] = command
    return table


COMMANDS = index(
    sessions.COMMANDS,
    campaigns.COMMANDS,
    emails.COMMANDS,
    tags.COMMANDS,
    scheduling.COMMANDS,
    accounts.COMMANDS,
    administration.COMMANDS,
    password_reset.COMMANDS,
    two_factor.COMMANDS,
    apikeys.COMMANDS,
    segments.COMMANDS,
    audience.COMMANDS,
    lists.COMMANDS,
    custom_fields.COMMANDS,
    subscribers.COMMANDS,
    public_subscription.COMMANDS,
    subscriber_sessions.COMMANDS,
    subscriber_import.COMMANDS,
    import_jobs.COMMANDS,
    suppression.COMMANDS,
    email_subscriptions.COMMANDS,
    email_account.COMMANDS,
    senders.COMMANDS,
    modern_campaigns.COMMANDS,
    webhooks.COMMANDS,
    subscriber_tags.COMMANDS,
    autoresponders.COMMANDS,
    autoresponder_reports.COMMANDS,
    email_templates.COMMANDS,
    user_email_templates.COMMANDS,
    split_tests.COMMANDS,
    campaign_reports.COMMANDS,
    subscriber_reports.COMMANDS,
    exports.COMMANDS,
    list_reports.COMMANDS,
    list_overview.COMMANDS,
    usage.COMMANDS,
    automated_reports.COMMANDS,
    journeys.COMMANDS,
    journey_actions.COMMANDS,
    subscriber_journeys.COMMANDS,
    journey_admin.COMMANDS,
    journey_exports.COMMANDS,
    list_lifecycle.COMMANDS,
    email_tools.COMMANDS,
    subscriber_create.COMMANDS,
    campaign_retry.COMMANDS,
    user_snapshot.COMMANDS,
    email_render.COMMANDS,
    usergroup_patch.COMMANDS,
    list_integration.COMMANDS,
    campaign_archive.COMMANDS,
    list_copies.COMMANDS,
    personalization_tags.COMMANDS,
    subscribers_update.COMMANDS,
    user_switch.COMMANDS,
    unavailable.COMMANDS,
)

REQUIRED_PERMISSIONS.update({command.required_permission.lower(): command.required_permission
                             for command in COMMANDS.values()
                             if command.auth in (USER, ANY) and command.required_permission})
