"""A traced app whose bodies fail while streaming, for real servers.

They raise RuntimeError: gunicorn takes an OSError for a broken client
connection and closes it without an answer.

Run by gunicorn in a subprocess (``tests.failing_bodies:app``), it records
each span its MockTracer finishes as a JSON line in the file named by
``$SPANS_FILE``, written when the span finishes: the test reads them back
while the server still runs.
"""
import json
import os

from opentracing.mocktracer import MockTracer
from pyramid.config import Configurator
from pyramid.response import Response


def fails_before_the_first_chunk(request):
    def chunks():
        raise RuntimeError('storage gone before the first chunk')
        yield b''  # a generator: it fails when the server reads it
    return Response(app_iter=chunks())


def fails_after_the_first_chunk(request):
    def chunks():
        yield b'partial'
        raise RuntimeError('storage gone after the first chunk')
    return Response(app_iter=chunks())


def make_app(tracer):
    config = Configurator(settings={'ot.trace_all': True, 'ot.base_tracer': tracer})
    config.add_route('before', '/fails-before-the-first-chunk')
    config.add_view(fails_before_the_first_chunk, route_name='before')
    config.add_route('after', '/fails-after-the-first-chunk')
    config.add_view(fails_after_the_first_chunk, route_name='after')
    config.include('pyramid_opentracing')
    return config.make_wsgi_app()


class RecordingTracer(MockTracer):
    """A MockTracer that also appends each finished span to a file."""

    def __init__(self, path):
        super().__init__()
        self.path = path

    def _append_finished_span(self, span):
        super()._append_finished_span(span)
        with open(self.path, 'a', encoding='utf-8') as spans_file:
            spans_file.write(json.dumps({'name': span.operation_name, 'tags': span.tags},
                                        default=repr) + '\n')


def gunicorn_app():
    return make_app(RecordingTracer(os.environ['SPANS_FILE']))


app = gunicorn_app() if os.environ.get('SPANS_FILE') else None
