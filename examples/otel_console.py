"""A tracer for ``ot.base_tracer_func`` that prints spans with OpenTelemetry's ConsoleSpanExporter.

The OpenTracing calls of pyramid_opentracing go through
``opentelemetry-opentracing-shim`` to an OpenTelemetry SDK tracer provider
that writes each finished span to standard output as JSON: tracing you can
watch without running a collector. ``pyramid_opentracing.otel`` is the
package's own, configurable bridge; this is the smallest one that works.
"""
import sys

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.shim.opentracing_shim import create_tracer


def console_tracer(**settings):
    """An OpenTracing tracer printing each span as it finishes.

    Called once by pyramid_opentracing with the application settings;
    ``demo.service_name`` names the service in the printed spans. The
    exporter writes to the ``sys.stdout`` of the time of the call (the
    default argument would be the one of import time).
    """
    service = settings.get('demo.service_name', 'pyramid-demo')
    provider = TracerProvider(resource=Resource.create({'service.name': service}))
    provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stdout)))
    return create_tracer(provider)
