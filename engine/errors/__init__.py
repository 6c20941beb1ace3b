"""Domain exceptions, by context. The protocol layer maps each to a wire error code per command.

base.py (DomainError, whose message is safe to show the caller, and the shared kinds: NotFound,
AlreadyExists, InvalidValue, InvalidStatusTransition), accounts.py, audience.py, campaigns.py,
senders.py, tracking.py, events.py, journeys.py. Every name is also importable from `engine.errors` itself, so a
command's `raises` table can name exceptions of several contexts from one place. (Autoresponders keep
theirs in engine/automation/errors.py.)
"""
from __future__ import annotations

from engine.errors.base import *  # noqa: F401,F403
from engine.errors.accounts import *  # noqa: F401,F403
from engine.errors.audience import *  # noqa: F401,F403
from engine.errors.campaigns import *  # noqa: F401,F403
from engine.errors.senders import *  # noqa: F401,F403
from engine.errors.tracking import *  # noqa: F401,F403
from engine.errors.events import *  # noqa: F401,F403
from engine.errors.journeys import *  # noqa: F401,F403
