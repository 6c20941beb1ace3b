"""Example calls: alice's imports as jobs (the two legacy steps, subscribers.import.post / .get /
.prepare) and her automated reports.

Uses LIST_ID and FIELD_ID (scenario_audience)."""
from __future__ import annotations

import json

from tests.reference.recorder import Call

POST_SOURCE = json.dumps({"CSV": {"Data": "email,city\nlin@example.org,Leeds\nmo@example.org,York\n",
                                  "FieldTerminator": ",", "FieldEncloser": '"', "EscapedBy": "\\",
                                  "MappedFields": {"FIELD1": "EmailAddress", "FIELD2": "{FIELD_ID}"}}})

STEPS = [
    # Imports
    Call("Subscribers.Import", {"ImportStep": "1", "ListID": "{LIST_ID}", "ImportType": "Copy",
                                "ImportData": "email,town\nkai@example.org,Bath\n"}, save={"STEP_IMPORT_ID": "ImportID"},
         note="Step 1 stores the upload and answers its columns; step 2 maps them and starts the import."),
    Call("Subscribers.Import", {"ImportStep": "2", "ImportID": "{STEP_IMPORT_ID}",
                                "MappedFields[FIELD1]": "EmailAddress", "MappedFields[FIELD2]": "{FIELD_ID}"}),
    Call("subscribers.import.post", {"ListID": "{LIST_ID}", "AddToGlobalSuppressionList": "false",
                                     "AddToSuppressionList": "false", "UpdateDuplicates": "true",
                                     "TriggerActions": "false", "Tags": '["imported"]', "ImportFrom": POST_SOURCE},
         save={"IMPORT_ID": "ImportID"},
         note="At most 50 rows are imported in the request (ImportType sync); larger files by the tick or the "
              "worker (async): poll subscribers.import.get."),
    Call("subscribers.import.get", {"ListID": "{LIST_ID}", "ImportID": "{IMPORT_ID}"}),
    Call("subscribers.import.prepare", {"ImportFrom": json.dumps({"Mailchimp": {"APIKey": "key-us1",
                                                                               "Server": "us1"}})},
         expect=9, note="Sendmill connects to no third-party service: export the audience as CSV and import that."),

    # Automated reports
    Call("Tag.Create", {"Tag": "Newsletter"}, save={"REPORT_TAG_ID": "TagID"}, setup=True),
    Call("Automated_Reports.Create", {"ReportName": "Weekly Performance Summary", "Frequency": "weekly",
                                      "FilterType": "all", "RecipientEmails": "manager@example.com,team@example.com",
                                      "Status": "enabled"}, save={"REPORT_ID": "ReportID"}),
    Call("Automated_Reports.Create", {"ReportName": "Newsletter Campaign Report", "Frequency": "monthly",
                                      "FilterType": "tags", "FilterTags": "{REPORT_TAG_ID}",
                                      "RecipientEmails": "analytics@example.com"}, save={"TAGGED_REPORT_ID": "ReportID"}),
    Call("Automated_Reports.Update", {"ReportID": "{REPORT_ID}", "ReportName": "Updated Weekly Summary",
                                      "Frequency": "daily"}),
    Call("Automated_Reports.Get", {"ReportID": "{TAGGED_REPORT_ID}"}),
    Call("Automated_Reports.List", {"Status": "enabled"}),
    Call("Automated_Reports.Toggle", {"ReportID": "{REPORT_ID}"}),
    Call("Automated_Reports.Delete", {"ReportID": "{REPORT_ID}"}),
    Call("Automated_Reports.Get", {"ReportID": "{REPORT_ID}"}, expect=2, note="A deleted (or another account's) report."),
]
