#!/usr/bin/env python3
"""Logs through the real OpenTelemetry Python SDK, for sitrep's OTLP tests.

    otel_logs.py http BASE_URL [--gzip] [--token T]   SDK -> OTLPLogExporter -> BASE_URL/v1/logs (protobuf)
    otel_logs.py json BASE_URL [--token T]            the SDK's own encoding of the same logs, sent as OTLP/JSON
    otel_logs.py files DIR                            one protobuf ExportLogsServiceRequest per file (for kcat -P)

The logs (resource service.name=checkout, host.name=db-7): two `connection pool exhausted
after N s` errors (one template), a `disk.pressure` warning named by its `event.name`
attribute, and a critical `payment gateway down`. Prints what the exporter reported.
Needs `pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-http`.
"""
import argparse
import base64
import json
import logging
import os
import sys
import urllib.request

from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import (
    InMemoryLogRecordExporter,
    LogRecordExportResult,
    SimpleLogRecordProcessor,
)
from opentelemetry.sdk.resources import Resource


def emit(provider):
    handler = LoggingHandler(level=logging.DEBUG, logger_provider=provider)
    log = logging.getLogger("checkout.db")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    log.addHandler(handler)
    log.error("connection pool exhausted after %d s", 30)
    log.error("connection pool exhausted after %d s", 45)
    log.warning("disk /var is 93% full", extra={"event.name": "disk.pressure", "mount": "/var"})
    log.critical("payment gateway down")
    provider.force_flush()
    log.removeHandler(handler)


def resource():
    return Resource.create({"service.name": "checkout", "host.name": "db-7", "deployment.environment": "test"})


class Recording(InMemoryLogRecordExporter):
    """Keeps what the SDK hands its exporter, and passes it on."""

    def __init__(self, inner=None):
        super().__init__()
        self.inner = inner
        self.results = []

    def export(self, batch):
        super().export(batch)
        if self.inner is not None:
            r = self.inner.export(batch)
            self.results.append(r)
            return r
        return LogRecordExportResult.SUCCESS


def encoded_batch():
    """The logs as the SDK's OTLP encoder writes them (an ExportLogsServiceRequest)."""
    from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs

    rec = Recording()
    provider = LoggerProvider(resource=resource())
    provider.add_log_record_processor(SimpleLogRecordProcessor(rec))
    emit(provider)
    return [encode_logs([r]) for r in rec.get_finished_logs()]


def otlp_json(request):
    """OTLP/JSON of a request: protobuf's JSON mapping with enums as integers and the
    trace and span ids as hex (the OTLP/JSON rule that differs from protobuf's base64)."""
    from google.protobuf.json_format import MessageToDict

    d = MessageToDict(request, use_integers_for_enums=True)
    for rl in d.get("resourceLogs", []):
        for sl in rl.get("scopeLogs", []):
            for r in sl.get("logRecords", []):
                for k in ("traceId", "spanId"):
                    if k in r:
                        r[k] = base64.b64decode(r[k]).hex()
    return json.dumps(d).encode()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["http", "json", "files"])
    p.add_argument("target")
    p.add_argument("--gzip", action="store_true")
    p.add_argument("--token")
    a = p.parse_args()
    headers = {"Authorization": f"Bearer {a.token}"} if a.token else {}
    if a.mode == "http":
        from opentelemetry.exporter.otlp.proto.http import Compression
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter

        exporter = OTLPLogExporter(
            endpoint=a.target.rstrip("/") + "/v1/logs",
            headers=headers,
            compression=Compression.Gzip if a.gzip else Compression.NoCompression,
            timeout=10,
        )
        rec = Recording(exporter)
        provider = LoggerProvider(resource=resource())
        provider.add_log_record_processor(SimpleLogRecordProcessor(rec))
        emit(provider)
        provider.shutdown()
        print("exports:", [str(r) for r in rec.results])
        return 0 if rec.results and all(r == LogRecordExportResult.SUCCESS for r in rec.results) else 1
    if a.mode == "json":
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

        merged = ExportLogsServiceRequest()
        for b in encoded_batch():
            merged.resource_logs.extend(b.resource_logs)
        req = urllib.request.Request(
            a.target.rstrip("/") + "/v1/logs",
            data=otlp_json(merged),
            headers={"Content-Type": "application/json", **headers},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            print(r.status, r.read().decode())
        return 0
    os.makedirs(a.target, exist_ok=True)
    for i, b in enumerate(encoded_batch()):
        with open(os.path.join(a.target, f"{i:03}.pb"), "wb") as f:
            f.write(b.SerializeToString())
    return 0


if __name__ == "__main__":
    sys.exit(main())
