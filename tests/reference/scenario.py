"""The example scenario of the command reference: one session through every /api.php command.

Every registered command needs at least one documented Call here (test_reference names the missing
ones). Add it where the state it needs exists; values from earlier steps are `{NAME}`s. Then record
again: python -m pytest tests/reference --update-reference --db=sqlite
"""
from __future__ import annotations

from tests.reference import (
    scenario_accounts, scenario_audience, scenario_automation, scenario_campaigns, scenario_imports_reports,
    scenario_journeys, scenario_page_commands, scenario_reports, scenario_senders, scenario_split_tests,
    scenario_subscriber_area, scenario_templates, scenario_wrappers,
)
from tests.reference.recorder import Call

STEPS = [
    *scenario_accounts.STEPS,
    *scenario_audience.STEPS,
    *scenario_campaigns.STEPS,
    *scenario_split_tests.STEPS,
    *scenario_automation.STEPS,
    *scenario_templates.STEPS,
    *scenario_reports.STEPS,
    *scenario_subscriber_area.STEPS,
    *scenario_imports_reports.STEPS,
    *scenario_journeys.STEPS,
    *scenario_senders.STEPS,
    *scenario_page_commands.STEPS,
    *scenario_wrappers.STEPS,
    *scenario_audience.CLOSING,
    *scenario_accounts.CLOSING,
]


def documented_commands() -> set[str]:
    return {step.command.lower() for step in STEPS if isinstance(step, Call) and not step.setup}
