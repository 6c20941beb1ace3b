"""What journey mail did, from the SendEmail ledger (`journey_sends`): per action, per day, per ISP
domain, per account. Every figure is one grouped query over the ledger rows due in the window, never a
statement per subscriber or per message.

A row counts when it was not skipped (the send-time checks refused it): SendCount / Sent. The rest:
Delivered — handed to the relay (`sent`); Opened / Clicked — rows opened / clicked at least once (unique,
per message); TotalOpens / TotalClicks — every tracked open / click; BrowserViews — web-version views;
Unsubscribed / Bounced / Complained — messages whose link, bounce or complaint report came back.
A message's engagement counts on the day it was due (its cohort), so a window's figures never change
their denominator. Days are the account's local days (days.py): a window is [its first local midnight,
the local midnight after its last day), and a row's day is found by comparing due_at with those bounds.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select

from engine.automation.journeys.days import Days, grouped_by_day
from engine.models import Journey, JourneySend

MAX_DOMAINS = 1000   # Journey.Stats.ByISP: the domains with the most sends, the rest left out


def _flag(condition):
    return func.sum(case((condition, 1), else_=0))


S = JourneySend
FIGURES = {
    "Sent": func.count(),
    "Delivered": _flag(S.state == "sent"),
    "Opened": _flag(S.opens > 0),
    "TotalOpens": func.sum(S.opens),
    "Clicked": _flag(S.clicks > 0),
    "TotalClicks": func.sum(S.clicks),
    "BrowserViews": func.sum(S.browser_views),
    "Unsubscribed": _flag(S.unsubscribed_at.is_not(None)),
    "Bounced": _flag(S.bounced_at.is_not(None)),
    "Complained": _flag(S.complained_at.is_not(None)),
}
EMPTY = {name: 0 for name in FIGURES}


def domain_of(dialect: str, column):
    """The lower-case domain of an address column (after its last '@'; SQLite: its first)."""
    if dialect in ("mysql", "mariadb"):
        return func.lower(func.substring_index(column, "@", -1))
    if dialect == "postgresql":
        return func.lower(func.regexp_replace(column, "^.*@", ""))
    return func.lower(func.substr(column, func.instr(column, "@") + 1))


def _rows(session, keys: list, where: list) -> list[tuple]:
    query = select(*keys, *FIGURES.values()).where(S.state != "skipped", *where)
    if keys:
        query = query.group_by(*keys)
    return [tuple(r) for r in session.execute(query)]


def _figures(values) -> dict:
    return {name: int(v or 0) for name, v in zip(FIGURES, values)}


def in_window(days: Days, isp: str | None, dialect: str) -> list:
    where = [S.due_at >= days.since, S.due_at < days.until]
    if isp:
        where.append(domain_of(dialect, S.email_address) == isp.lower())
    return where


def _per_day(session, key, where: list, days: Days) -> dict[int, dict[str, dict]]:
    """key value → {YYYY-MM-DD → figures} of the rows due in the window, one statement grouped by the key
    and the local day."""
    query = (select(key, days.bucket(S.due_at), *FIGURES.values())
             .where(S.state != "skipped", S.due_at >= days.since, S.due_at < days.until, *where)
             .group_by(key, grouped_by_day()))
    out: dict[int, dict[str, dict]] = {}
    for value, index, *figures in session.execute(query):
        out.setdefault(int(value), {})[days.name_of(index)] = _figures(figures)
    return out


def per_action_day(session, journey_id: int, action_ids: list[int], days: Days,
                   isp: str | None) -> dict[int, dict[str, dict]]:
    """action ID → {YYYY-MM-DD → figures} for the rows due in the window (one grouped query)."""
    if not action_ids:
        return {}
    return _per_day(session, S.action_id, [S.journey_id == journey_id, S.action_id.in_(action_ids),
                                           *in_window(days, isp, session.bind.dialect.name)], days)


def per_journey_day(session, journey_ids: list[int], days: Days, *, action_id: int | None = None,
                    isp: str | None = None) -> dict[int, dict[str, dict]]:
    """journey ID → {YYYY-MM-DD → figures} for the rows due in the window: Journey.List's page of journeys
    in one grouped query (Journey.Get's one journey, narrowed like its AggregatedEmailActions)."""
    if not journey_ids:
        return {}
    where = [S.journey_id.in_(journey_ids), *in_window(days, isp, session.bind.dialect.name)]
    if action_id is not None:
        where.append(S.action_id == action_id)
    return _per_day(session, S.journey_id, where, days)


def per_domain(session, journey_id: int, action_id: int | None, days: Days) -> list[dict]:
    """Figures per recipient domain, most sends first (at most MAX_DOMAINS)."""
    dialect = session.bind.dialect.name
    domain = domain_of(dialect, S.email_address).label("domain")
    where = [S.journey_id == journey_id, *in_window(days, None, dialect)]
    if action_id is not None:
        where.append(S.action_id == action_id)
    query = (select(domain, *FIGURES.values()).where(S.state != "skipped", *where).group_by(domain)
             .order_by(func.count().desc(), domain).limit(MAX_DOMAINS))
    return [{"Domain": d or "", **_figures(values)} for d, *values in session.execute(query)]


def account_totals(session, owner_id: int, start: datetime, end: datetime) -> tuple[dict, int]:
    """The owner's figures over every journey for the rows due in [start, end), and how many journeys sent."""
    query = (select(func.count(func.distinct(S.journey_id)), *FIGURES.values())
             .join(Journey, Journey.id == S.journey_id)
             .where(Journey.owner_user_id == owner_id, S.state != "skipped", S.due_at >= start, S.due_at < end))
    journeys, *values = session.execute(query).one()
    return _figures(values), int(journeys or 0)


def lifetime(session, journey_id: int, action_id: int | None, isp: str | None) -> dict:
    """The journey's figures over all time (Journey.Get's AggregatedEmailActions), of one SendEmail action
    and / or one recipient domain when given."""
    where = [S.journey_id == journey_id]
    if action_id is not None:
        where.append(S.action_id == action_id)
    if isp:
        where.append(domain_of(session.bind.dialect.name, S.email_address) == isp.lower())
    (values,) = _rows(session, [], where)
    return _figures(values)


def lifetime_by_journey(session, journey_ids: list[int]) -> dict[int, dict]:
    """journey ID → its figures over all time (Journey.List), one grouped query for the page."""
    if not journey_ids:
        return {}
    found = {int(j): _figures(values) for j, *values in _rows(session, [S.journey_id], [S.journey_id.in_(journey_ids)])}
    return {j: found.get(j, dict(EMPTY)) for j in journey_ids}


def per_action(session, journey_ids: list[int], start: datetime, end: datetime) -> dict[tuple[int, int], dict]:
    """(journey ID, action ID) → figures and the latest open / click of its messages (LastOpenedAt /
    LastClickedAt; a row tracked before 0022_journey_reports knows only its first) for the rows due in
    [start, end): one grouped query for a batch of journeys."""
    if not journey_ids:
        return {}
    query = (select(S.journey_id, S.action_id, func.max(func.coalesce(S.last_opened_at, S.first_opened_at)),
                    func.max(func.coalesce(S.last_clicked_at, S.first_clicked_at)), *FIGURES.values())
             .where(S.state != "skipped", S.journey_id.in_(journey_ids), S.due_at >= start, S.due_at < end)
             .group_by(S.journey_id, S.action_id))
    return {(int(j), int(a)): {**_figures(values), "LastOpenedAt": opened, "LastClickedAt": clicked}
            for j, a, opened, clicked, *values in session.execute(query)}


def rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0
