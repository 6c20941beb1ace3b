"""A command answer that is a file, not an envelope (Subscribers.Export.Get / Campaigns.Export.Get /
Journey.Export.Get with Download=1): the dispatcher ends the command's transaction first, then the view streams `chunks`, which
open short transactions of their own (engine/audience/exports.py)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

from flask import Response

MIMETYPES = {"csv": "text/csv", "json": "application/json"}


@dataclass(frozen=True)
class Download:
    filename: str
    file_format: str                                   # "csv" | "json"
    chunks: Callable[[Callable], Iterator[bytes]]      # given engine.uow, yields the file's bytes

    @property
    def mimetype(self) -> str:
        return MIMETYPES[self.file_format]


def download_response(download: Download, engine) -> Response:
    """Stream a command's file; its chunks open their own short transactions (see the module's doc)."""
    response = Response(download.chunks(engine.uow), mimetype=download.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{download.filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
