"""WARC 1.1 writer (warcio): one gzip member per record, rolled by size, one file set per run.

Each exchange is written as `request`, `response` and a `metadata` record that carries what the
archive needs to reinterpret the bytes later: fetch time, crawl id, resolved encoding, page kind.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import BinaryIO

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

import pipeline

# Scrapy's HttpCompressionMiddleware (590) has already decoded the body when our middleware
# (580) sees it, and chunking is gone: the response record holds the decoded payload.
PAYLOAD_NOTE = (
    "response payloads are the bodies as decoded by Scrapy's HttpCompressionMiddleware "
    "(Content-Encoding removed); transfer chunking is not preserved"
)


@dataclass(frozen=True, slots=True)
class WarcLocation:
    file: str  # path relative to the WARC folder
    record_id: str  # WARC-Record-ID of the response record
    offset: int  # byte offset of the response record in the file
    body_sha256: str


class WarcArchive:
    def __init__(
        self,
        folder: Path,
        prefix: str,
        info: dict[str, str],
        max_bytes: int = 1_000_000_000,
    ) -> None:
        self.folder = folder
        self.prefix = prefix
        self.info = info
        self.max_bytes = max_bytes
        self._serial = 0
        self._fh: BinaryIO | None = None
        self._writer: WARCWriter | None = None
        self._name = ""

    def _open_next(self) -> None:
        self.close()
        self.folder.mkdir(parents=True, exist_ok=True)
        self._name = f"{self.prefix}-{self._serial:05d}.warc.gz"
        self._serial += 1
        # Append, never truncate: an existing file from an interrupted run stays intact.
        self._fh = (self.folder / self._name).open("ab")
        self._writer = WARCWriter(self._fh, gzip=True, warc_version="1.1")
        info = {
            "software": f"lurker/{pipeline.__version__} (scrapy, warcio)",
            "format": "WARC File Format 1.1",
            "payload": PAYLOAD_NOTE,
            **self.info,
        }
        self._writer.write_record(self._writer.create_warcinfo_record(self._name, info))

    def _ensure_open(self) -> WARCWriter:
        if self._writer is None or (self._fh and self._fh.tell() >= self.max_bytes):
            self._open_next()
        assert self._writer is not None
        return self._writer

    def write_exchange(
        self,
        url: str,
        method: str,
        request_headers: list[tuple[str, str]],
        status: int,
        reason: str,
        response_headers: list[tuple[str, str]],
        body: bytes,
        fetched_at: datetime,
        metadata: dict[str, object],
    ) -> WarcLocation:
        writer = self._ensure_open()
        assert self._fh is not None
        date = fetched_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        # Drop headers that no longer describe the stored payload (it was decoded by Scrapy).
        kept = [
            (k, v)
            for k, v in response_headers
            if k.lower() not in ("content-encoding", "transfer-encoding", "content-length")
        ]
        kept.append(("Content-Length", str(len(body))))
        http_headers = StatusAndHeaders(f"{status} {reason}".strip(), kept, protocol="HTTP/1.1")
        offset = self._fh.tell()
        response = writer.create_warc_record(
            url,
            "response",
            payload=BytesIO(body),
            length=len(body),
            http_headers=http_headers,
            warc_headers_dict={"WARC-Date": date},
        )
        writer.write_record(response)
        record_id = response.rec_headers.get_header("WARC-Record-ID")
        path = url.split("/", 3)[3] if url.count("/") >= 3 else ""
        req_headers = StatusAndHeaders(
            f"{method} /{path} HTTP/1.1", request_headers, is_http_request=True
        )
        request = writer.create_warc_record(
            url,
            "request",
            payload=BytesIO(b""),
            length=0,
            http_headers=req_headers,
            warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": record_id},
        )
        writer.write_record(request)
        meta_body = json.dumps(metadata, ensure_ascii=False, default=str).encode("utf-8")
        meta = writer.create_warc_record(
            url,
            "metadata",
            payload=BytesIO(meta_body),
            length=len(meta_body),
            warc_content_type="application/json",
            warc_headers_dict={"WARC-Date": date, "WARC-Refers-To": record_id},
        )
        writer.write_record(meta)
        self._fh.flush()
        return WarcLocation(
            file=self._name,
            record_id=record_id,
            offset=offset,
            body_sha256=hashlib.sha256(body).hexdigest(),
        )

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
        self._fh = None
        self._writer = None
