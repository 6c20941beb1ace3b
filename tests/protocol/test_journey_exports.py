"""Journey.Export.Submit / Get: a job, made by the scheduler's journeys pass, polled and downloaded (both
/api.php and /api/v1), every code."""
from __future__ import annotations

import csv
import io

import pytest

from protocol.commands import journey_exports as X
from scheduler.journeys import journeys_pass
from tests.builders import CodeRecorder, assert_codes_reached
from tests.helpers import stored_state

SEEN: dict = {}
NEVER_EMITTED = {"Journey.Export.Get": {4}}  # the job table holds journey exports only


@pytest.fixture
def call(api):
    return CodeRecorder(api, SEEN)


def test_submit_process_poll_download(call, user, other_user, engine, client, clock):
    call("Journey.Create", user.session, Name="=Welcome")
    call("Journey.Create", user.session, Name="Other")
    call("Journey.Enable", user.session, JourneyID=call("Journey.Create", user.session, Name="On")["JourneyID"])
    export_id = call("Journey.Export.Submit", user.session, Status="Disabled", IncludeActions=1)["ExportID"]
    job = call("Journey.Export.Get", user.session, ExportID=export_id)["ExportJob"]
    assert job["Status"] == "Pending" and job["Module"] == "JourneyExport"
    assert job["ExportOptions"] == {"Command": "ExportJourneys", "StatsStartDate": "2026-10-24",
                                    "StatsEndDate": "2026-11-23", "Status": "Disabled", "IncludeActions": True}
    assert call("Journey.Export.Get", user.session, ExportID=export_id, Download=1)["ErrorCode"][0] == 5
    journeys_pass(engine, clock())
    job = call("Journey.Export.Get", user.session, ExportID=export_id)["ExportJob"]
    assert job["Status"] == "Completed" and job["DownloadSize"] > 0 and job["FinishedAt"] == "2026-11-23 12:00:00"
    response = client.post("/api.php", data={"Command": "Journey.Export.Get", "SessionID": user.session,
                                              "ExportID": export_id, "download": "1"})
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:4] == ["JourneyID", "JourneyName", "Status", "Trigger"]
    assert [r[1] for r in rows[1:]] == ["'=Welcome", "Other"]  # only Disabled ones; no formula
    v1 = client.get("/api/v1/journey.export", json={"SessionID": user.session, "ExportID": export_id, "download": 1})
    assert v1.status_code == 200 and v1.mimetype == "text/csv"
    assert call("Journey.Export.Get", other_user.session, ExportID=export_id)["ErrorCode"][0] == 3


def test_codes(call, user, engine):
    before = stored_state(engine)
    for code, params in ((1, {"StatsStartDate": "2026-1-1"}), (2, {"StatsEndDate": "x"}),
                         (3, {"StatsStartDate": "2026-11-23", "StatsEndDate": "2026-11-01"}), (4, {"Status": "Some"})):
        assert call("Journey.Export.Submit", user.session, **params)["ErrorCode"][0] == code
    for code, params in ((1, {}), (2, {"ExportID": "x"}), (3, {"ExportID": 9999})):
        assert call("Journey.Export.Get", user.session, **params)["ErrorCode"][0] == code
    assert stored_state(engine) == before


def test_every_code_is_reached(request):
    assert_codes_reached(request, SEEN, X.COMMANDS, NEVER_EMITTED)
