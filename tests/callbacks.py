"""Callbacks named by dotted name in settings tests."""
from opentracing.mocktracer import MockTracer


def rename(span, request):
    span.set_operation_name('renamed by callback')


def fail(span, request):
    raise RuntimeError('callback failed')


def name_with_pattern(request):
    route = request.matched_route
    return '%s %s' % (request.method, route.pattern if route else '<no route>')


def fail_naming(request):
    raise RuntimeError('naming failed')


def make_tracer(**settings):
    """A tracer factory: returns a MockTracer remembering the settings."""
    tracer = MockTracer()
    tracer.settings = settings
    return tracer


def make_nothing(**settings):
    return None


def make_broken(**settings):
    raise RuntimeError('no tracer today')


def make_tracing(**settings):
    from pyramid_opentracing import PyramidTracer
    return PyramidTracer(MockTracer())


TRACER = MockTracer()
NOT_CALLABLE = 42


def one_argument(span):
    """A start-span callback missing its request argument."""


def two_arguments(request, extra):
    """A naming function wanting more than the request."""


def no_argument():
    """A request filter taking no request."""


def settings_positionally(settings):
    """A tracer factory taking the settings as one argument, not as keywords."""
    return MockTracer()


def any_arguments(*args, **kwargs):
    return True


class Filter:
    """A callable object: its signature is that of ``__call__``."""

    def __call__(self, request, verbose=False):
        return True


FILTER = Filter()
