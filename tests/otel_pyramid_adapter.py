"""A pytest plugin loaded into OpenTelemetry's own Pyramid test suite (run by
tests/test_otel_pyramid_suite.py): wherever that suite instruments a
Configurator with ``PyramidInstrumentor``, pyramid_opentracing's tween is
installed instead, tracing with the bridge on the global provider the suite
sets up (``ot.otel.provider = global``). The suite's assertions are untouched.
"""
import pyramid_opentracing
from opentelemetry.instrumentation import pyramid as otel_pyramid
from opentelemetry.instrumentation.pyramid import callbacks

BRIDGE_SETTINGS = {
    'ot.trace_all': True,
    'ot.base_tracer_func': 'pyramid_opentracing.otel.tracer_from_settings',
    'ot.otel.provider': 'global',
}
INCLUDED = 'pyramid_opentracing.included_by_adapter'


def includeme(config):
    """Stands for including OpenTelemetry's ``callbacks`` module, which
    ``PyramidInstrumentor`` does for both its automatic and its
    per-Configurator instrumentation."""
    config.add_settings(BRIDGE_SETTINGS)
    if not config.get_settings().get(INCLUDED):
        config.add_settings({INCLUDED: True})
        config.include('pyramid_opentracing')


def uninstrument_config(config):
    """Stands for ``PyramidInstrumentor.uninstrument_config``: the tween
    made by the next ``make_wsgi_app`` traces nothing."""
    config.add_settings({'ot.trace_all': False})


def pytest_configure(config):
    callbacks.includeme = includeme
    # the name an explicit ``pyramid.tweens`` list gets from the instrumentation
    otel_pyramid.trace_tween_factory = pyramid_opentracing.opentracing_tween_factory
    otel_pyramid.PyramidInstrumentor.uninstrument_config = staticmethod(uninstrument_config)
