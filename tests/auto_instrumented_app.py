"""Run under ``opentelemetry-instrument`` by tests/test_otel_ecosystem.py: an
auto-instrumented Pyramid app traced by the bridge on the global provider
serves two requests. The spans go to stdout (console exporter)."""
import logging

import webtest

from . import apps

logging.basicConfig(level=logging.INFO)
app = webtest.TestApp(apps.make_app({
    'ot.trace_all': 'true', 'ot.otel.provider': 'global',
    'ot.base_tracer_func': 'pyramid_opentracing.otel.tracer_from_settings'}))
app.get('/hello/bob')
app.get('/plain')
