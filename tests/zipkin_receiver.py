"""A Zipkin v2 JSON span receiver on 127.0.0.1 (``POST /api/v2/spans``):
it parses each body as Zipkin's v2 JSON, a list of span objects, and keeps
the spans as they came."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .otlp_receiver import ServedInThread

#: The fields every Zipkin v2 span has.
REQUIRED = ('traceId', 'id', 'name', 'timestamp', 'duration')


class ZipkinReceiver(ServedInThread):
    """Listens on a port the OS chooses; ``endpoint`` is the spans URL."""

    def __init__(self):
        self.spans = []
        self.content_types = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers['Content-Length']))
                spans = json.loads(body)
                assert self.path == '/api/v2/spans' and isinstance(spans, list)
                for span in spans:
                    missing = [field for field in REQUIRED if field not in span]
                    assert not missing, missing
                receiver.content_types.append(self.headers.get('Content-Type'))
                receiver.spans.extend(spans)
                self.send_response(202)
                self.send_header('Content-Length', '0')
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.base_url = 'http://127.0.0.1:%d' % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
