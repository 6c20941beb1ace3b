"""Subscriber exports: a stored job (Subscribers.Export.Post) and its file, streamed (Subscribers.Export.Get).

Post checks everything (list, fields, target, criteria), counts the matching rows and stores the job;
it holds the request for one COUNT. The file is produced while it is downloaded: `subscriber_chunks()`
reads the matching rows in keyset batches of BATCH_ROWS (WHERE id > last ORDER BY id LIMIT n), each in
a short read transaction of its own, and yields each batch as CSV (or JSON) bytes. Memory stays flat
whatever the size of the list, no worker is busy producing files nobody fetches, and no transaction
stays open for the length of a download. The file reflects the list as it is when downloaded, not when
submitted (README "Reports and exports").

Custom fields are pivoted in SQL (one LEFT JOIN per exported field on the (subscriber_id, field_id)
primary key), so a batch is one statement whatever the number of fields.
"""
from __future__ import annotations

import csv
from contextlib import nullcontext
import io
import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable, Iterator

from sqlalchemy import Integer, and_, bindparam, func, select
from sqlalchemy.orm import aliased

from engine.accounts.auth import Actor
from engine.audience import compiler
from engine.audience.export_limit import require_export_allowed
from engine.audience.sqlfuncs import datetime_text, prepare_connection
from engine.db import UTCDateTime
from engine.hot_sql import HotStatement
from engine.errors import ExportExpired, ExportJobNotFound, ExportJobOtherModule, UnknownExportField
from engine.models import Subscriber, SubscriberFieldValue, SubscriberList
from engine.models.exports import ExportJob

BATCH_ROWS = 10_000
COPY_BATCH_ROWS = 50_000
MAX_ID = 2**31 - 1   # subscribers.id is a 32-bit integer
RETENTION = timedelta(days=30)   # the legacy EXPORT_FILE_RETENTION_DAYS default
SUBSCRIBER_COLUMNS = {
    "SubscriberID": Subscriber.id, "EmailAddress": Subscriber.email_address,
    "SubscriptionStatus": Subscriber.subscription_status, "BounceType": Subscriber.bounce_type,
    "SubscriptionDate": Subscriber.subscription_date, "SubscriptionIP": Subscriber.subscription_ip,
    "UnsubscriptionDate": Subscriber.unsubscription_date, "UnsubscriptionIP": Subscriber.unsubscription_ip,
    "OptInDate": Subscriber.opt_in_date, "Source": Subscriber.source, "SourceRef": Subscriber.source_ref,
}
_CUSTOM = re.compile(r"(?i)customfield(\d{1,18})")


@dataclass(frozen=True)
class SubscriberExportRequest:
    list_id: int
    rules_json: object          # RulesJSON as given (None or [] = no criteria)
    operator: str
    file_format: str            # "csv" | "json"
    fields: list[str]
    target: str | int           # a named segment of subscriber_search.NAMED_SEGMENTS or a segment ID


class ExportService:
    def __init__(self, uow):
        self.uow = uow
        self.s = uow.session

    # --- jobs ----------------------------------------------------------------------------------
    def submit_subscribers(self, actor: Actor, req: SubscriberExportRequest) -> ExportJob:
        """Check the request, count what it matches and store the job (ready to download at once)."""
        list_row = self.uow.lists.get(actor, req.list_id)
        fields = self._fields(list_row, req.fields)
        where = self._where(list_row, req.target, req.rules_json, req.operator)
        require_export_allowed(self.uow, actor.id)
        with self.uow.audience.time_limit():
            count = self.s.scalar(select(func.count()).select_from(Subscriber).where(*where))
        now = self.uow.clock()
        options = {"Command": "ExportSubscribers", "ListID": list_row.id, "FileFormat": req.file_format,
                   "Fields": fields, "Target": req.target, "RulesJSON": req.rules_json, "RulesOperator": req.operator}
        job = ExportJob(owner_user_id=actor.id, module="SubscriberExport", list_id=list_row.id,
                        options=json.dumps(options), file_format=req.file_format, row_count=count,
                        submitted_at=now, finished_at=now, expires_at=now + RETENTION)
        self.s.add(job)
        self.s.flush()
        return job

    def jobs(self, actor: Actor, module: str, *, list_id: int | None = None,
             job_id: int | None = None) -> list[ExportJob]:
        """The owner's jobs of `module` (on one list), newest first; one job by ID (ExportJobNotFound)."""
        query = select(ExportJob).where(ExportJob.owner_user_id == actor.id, ExportJob.module == module)
        if list_id is not None:
            query = query.where(ExportJob.list_id == self.uow.lists.get(actor, list_id).id)
        if job_id is not None:
            query = query.where(ExportJob.id == job_id)
        found = list(self.s.scalars(query.order_by(ExportJob.id.desc())))
        if job_id is not None and not found:
            other = self.s.scalar(select(ExportJob.module).where(ExportJob.owner_user_id == actor.id,
                                                                 ExportJob.id == job_id))
            if other is not None:
                raise ExportJobOtherModule(f"export job {job_id} is a {other} job, not a {module} job")
            raise ExportJobNotFound(f"export job {job_id} does not exist")
        return found

    def downloadable(self, job: ExportJob) -> None:
        if self.uow.clock() >= job.expires_at:
            raise ExportExpired(f"the file expired at {job.expires_at:%Y-%m-%d %H:%M:%S}; submit the export again")

    # --- what a subscriber export selects -----------------------------------------------------------
    def _fields(self, list_row: SubscriberList, wanted: list[str]) -> list[str]:
        custom = {f.id for f in self.uow.custom_fields.applicable(list_row)}
        names = {n.lower(): n for n in SUBSCRIBER_COLUMNS}
        out, unknown = [], []
        for name in wanted:
            match = _CUSTOM.fullmatch(name.strip())
            if name.strip().lower() in names:
                out.append(names[name.strip().lower()])
            elif match and int(match.group(1)) in custom:
                out.append(f"CustomField{int(match.group(1))}")
            else:
                unknown.append(name)
        if unknown:
            raise UnknownExportField(f"unknown field(s): {', '.join(unknown)[:200]}")
        return list(dict.fromkeys(out))

    def _where(self, list_row: SubscriberList, target, rules_json, operator: str) -> list:
        """The conditions on `subscribers` the export selects: list, target, criteria."""
        where = [Subscriber.list_id == list_row.id]
        where.append(self.uow.subscriber_search.target_filter(list_row, target))
        if rules_json not in (None, [], "", "[]"):
            raw = rules_json if isinstance(rules_json, str) else json.dumps(rules_json)
            criteria = self.uow.audience.parse_rules(list_row.owner_user_id, list_row.id, raw, operator)
            prepare_connection(self.s)
            where.append(compiler.condition(criteria, Subscriber, self.uow.audience.context(list_row.owner_user_id)))
        return where

    def subscriber_plan(self, job: ExportJob) -> "ExportPlan":
        """The batch statement of a stored job (criteria are checked again: a field may have gone since)."""
        options = json.loads(job.options)
        list_row = self.s.get(SubscriberList, job.list_id)
        where = self._where(list_row, options["Target"], options.get("RulesJSON"), options.get("RulesOperator", "and"))
        after, upto = bindparam("after", type_=Integer), bindparam("upto", type_=Integer)
        names = options["Fields"]
        # The keyset id comes last: the writers drop it, and the next batch starts after it.
        query = _rows(names, after, None).add_columns(Subscriber.id).where(*where).order_by(Subscriber.id)
        # PostgreSQL: a batch's rows are the ids in (after, upto], upto found first by an index scan; the rows
        # themselves (without the id) then come from the database already as CSV (_copied_batches).
        boundary = (select(Subscriber.id).where(*where, Subscriber.id > after).order_by(Subscriber.id)
                    .offset(bindparam("batch") - 1).limit(1))
        ranged = _rows(names, after, upto).where(*where).order_by(Subscriber.id)
        # Criteria and segment targets run under the audience time limit, batch by batch.
        limited = options.get("RulesJSON") not in (None, [], "", "[]") or isinstance(options["Target"], int)
        return ExportPlan(HotStatement(query.limit(bindparam("batch"))), HotStatement(boundary), HotStatement(ranged),
                          options["Fields"], job.file_format, limited)


def _rows(names: list[str], after, upto):
    """The exported columns of the subscribers with ids in (after, upto] (no upper bound when upto is None)."""
    columns, joins = [], []
    for name in names:
        column = SUBSCRIBER_COLUMNS.get(name)
        if column is not None:
            columns.append(datetime_text(column) if isinstance(column.type, UTCDateTime) else column)
            continue
        field_id = int(name[len("CustomField"):])
        value = aliased(SubscriberFieldValue, name=f"cf{field_id}")
        columns.append(func.coalesce(value.value_text, ""))
        # The batch's bounds repeated on the joined table: without them PostgreSQL merge-joins from the value
        # table's first row, or hashes all of it, in every batch (quadratic over a big list).
        bounds = [value.subscriber_id > after] + ([value.subscriber_id <= upto] if upto is not None else [])
        joins.append((value, and_(value.subscriber_id == Subscriber.id, value.field_id == field_id, *bounds)))
    query = select(*columns).select_from(Subscriber)
    for target, on in joins:
        query = query.outerjoin(target, on)
    query = query.where(Subscriber.id > after)
    return query.where(Subscriber.id <= upto) if upto is not None else query


@dataclass(frozen=True)
class ExportPlan:
    statement: HotStatement     # one batch: rows after `after`, at most `batch` of them, keyset id last
    boundary: HotStatement      # the id ending the batch after `after` (None: the rest is the last batch)
    ranged: HotStatement        # the rows with ids in (after, upto], without the id
    fields: list[str]
    file_format: str
    has_criteria: bool


def subscriber_chunks(open_uow: Callable, owner_id: int, job_id: int) -> Iterator[bytes]:
    """The export file of a job, a batch at a time; every batch reads in a short transaction of its own."""
    with open_uow() as uow:
        uow.read_only()
        job = uow.session.scalar(select(ExportJob).where(ExportJob.id == job_id, ExportJob.owner_user_id == owner_id))
        if job is None:   # deleted (with its list) since the request checked it: an empty file, not a broken one
            return
        plan = uow.exports.subscriber_plan(job)
        dialect = uow.session.get_bind().dialect.name
    writer = CsvRows(plan.fields) if plan.file_format == "csv" else JsonRows(plan.fields)
    yield writer.start()
    if plan.file_format == "csv" and dialect == "postgresql":
        yield from _copied_batches(open_uow, plan)
        return
    last = 0
    while True:
        with open_uow() as uow:
            uow.read_only()
            prepare_connection(uow.session)
            with uow.audience.time_limit() if plan.has_criteria else nullcontext():
                # The driver's own tuples, straight from its cursor: every value is already text, a number or
                # NULL, and building SQLAlchemy rows would cost more than the query.
                result = plan.statement.execute(uow.session.connection(), {"after": last, "batch": BATCH_ROWS})
                rows = result.cursor.fetchall()
                result.close()
        if not rows:
            break
        last = rows[-1][-1]
        yield writer.rows(rows)
    yield writer.end()


def _copied_batches(open_uow: Callable, plan: ExportPlan) -> Iterator[bytes]:
    """PostgreSQL: each batch as `COPY (SELECT …) TO STDOUT WITH (FORMAT csv)`, the database writing the CSV
    (Python would spend 3× the query's time building and quoting rows). The arguments are bound by psycopg,
    as for any statement. A batch is read whole (a few MB) before it is yielded: the transaction never waits
    for the client."""
    after = 0
    while True:
        with open_uow() as uow:
            uow.read_only()
            conn = uow.session.connection()
            with uow.audience.time_limit() if plan.has_criteria else nullcontext():
                upto = plan.boundary.execute(conn, {"after": after, "batch": COPY_BATCH_ROWS}).scalar()
                sql, args = plan.ranged.bound(conn.dialect, {"after": after, "upto": upto or MAX_ID})
                with conn.connection.driver_connection.cursor() as cursor, \
                        cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", args) as copy:
                    blocks = [bytes(block) for block in copy]
        if blocks:
            yield b"".join(blocks)
        if upto is None:
            return
        after = upto


class CsvRows:
    def __init__(self, fields: list[str]):
        self.fields = fields
        self.buffer = io.StringIO()
        # "\n", as PostgreSQL's COPY ends its lines: a file is alike whichever database wrote it.
        self.writer = csv.writer(self.buffer, lineterminator="\n")

    def _take(self) -> bytes:
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text.encode("utf-8")

    def start(self) -> bytes:
        self.writer.writerow(self.fields)
        return self._take()

    def rows(self, rows) -> bytes:
        # The last column is the keyset id, not necessarily exported; csv writes NULL as an empty cell.
        self.writer.writerows(row[:-1] for row in rows)
        return self._take()

    def end(self) -> bytes:
        return b""


class JsonRows:
    def __init__(self, fields: list[str]):
        self.fields = fields
        self.first = True

    def start(self) -> bytes:
        return b"["

    def rows(self, rows) -> bytes:
        parts = [json.dumps(dict(zip(self.fields, row)), ensure_ascii=False) for row in rows]
        text = ("" if self.first else ",") + ",".join(parts)
        self.first = False
        return text.encode("utf-8")

    def end(self) -> bytes:
        return b"]"
