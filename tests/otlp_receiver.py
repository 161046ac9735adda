"""A real OTLP/HTTP trace and metrics receiver on 127.0.0.1, for end-to-end tests.

It decodes each protobuf ``ExportTraceServiceRequest`` (``/v1/traces``) and
``ExportMetricsServiceRequest`` (``/v1/metrics``) with ``opentelemetry-proto``
and keeps the spans as plain dicts and the metrics as (name, data points).
It answers browsers' CORS preflight, so that a page's own exporter can post
to it too.
"""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest, ExportMetricsServiceResponse)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest, ExportTraceServiceResponse)
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

KINDS = {value: name[len('SPAN_KIND_'):] for name, value in Span.SpanKind.items()}
STATUSES = {value: name[len('STATUS_CODE_'):] for name, value in Status.StatusCode.items()}


def any_value(value):
    kind = value.WhichOneof('value')
    return None if kind is None else getattr(value, kind)


def as_dict(span, service):
    return {
        'service': service,
        'name': span.name,
        'kind': KINDS[span.kind],
        'trace_id': span.trace_id.hex(),
        'span_id': span.span_id.hex(),
        'parent_span_id': span.parent_span_id.hex() or None,
        'attributes': {kv.key: any_value(kv.value) for kv in span.attributes},
        'status': STATUSES[span.status.code],
        'status_message': span.status.message,
        'events': [event.name for event in span.events],
    }


class ServedInThread:
    """Serves ``self.server`` on ``self.thread`` inside a ``with`` block."""

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


class OTLPReceiver(ServedInThread):
    """Listens on a port the OS chooses; ``endpoint`` is its base URL.
    ``refuse`` maps a path to the HTTP status it is answered with instead
    (a collector without that endpoint); ``refused`` lists those requests."""

    def __init__(self, refuse=None):
        self.refuse = dict(refuse or {})
        self.refused = []  # the paths answered with an error
        self.spans = []
        self.metrics = []  # (name, [data point attributes]) of each metric received
        self.requests = []  # (path, content type, headers) of each export
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers['Content-Length']))
                if self.path in receiver.refuse:
                    with receiver._lock:
                        receiver.refused.append(self.path)
                    self.send_response(receiver.refuse[self.path])
                    self.send_header('Content-Length', '0')
                    self.end_headers()
                    return
                if self.path.endswith('/v1/metrics'):
                    receiver.receive_metrics(body)
                    reply = ExportMetricsServiceResponse().SerializeToString()
                else:
                    receiver.receive(self.path, self.headers, body)
                    reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header('Access-Control-Allow-Origin', '*')
                self.send_header('Content-Type', 'application/x-protobuf')
                self.send_header('Content-Length', str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def do_OPTIONS(self):
                # a browser's exporter asks before it posts protobuf across origins
                self.send_response(204)
                self.send_header('Access-Control-Allow-Origin', '*')
                self.send_header('Access-Control-Allow-Methods', 'POST')
                self.send_header('Access-Control-Allow-Headers', '*')
                self.send_header('Content-Length', '0')
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.endpoint = 'http://127.0.0.1:%d' % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def receive(self, path, headers, body):
        export = ExportTraceServiceRequest.FromString(body)
        with self._lock:
            self.requests.append((path, headers.get('Content-Type'), dict(headers)))
            for resource_spans in export.resource_spans:
                attributes = {kv.key: any_value(kv.value)
                              for kv in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        self.spans.append(as_dict(span, attributes.get('service.name')))

    def receive_metrics(self, body):
        export = ExportMetricsServiceRequest.FromString(body)
        with self._lock:
            for resource_metrics in export.resource_metrics:
                for scope_metrics in resource_metrics.scope_metrics:
                    for metric in scope_metrics.metrics:
                        data = getattr(metric, metric.WhichOneof('data'))
                        self.metrics.append((metric.name, [
                            {kv.key: any_value(kv.value) for kv in point.attributes}
                            for point in data.data_points]))
