"""The server span of a request: start, activate, tag, deactivate, finish.

One lifecycle for the tween and the ``@trace`` decorator alike: a
:class:`ServerSpanStrategy` made once per PyramidTracer and OpenTracing
tracer serves a request inside its span (:meth:`~ServerSpanStrategy.serve`):
it starts the span (:meth:`~ServerSpanStrategy.start`), calls the handler and
ends the span (:meth:`~ServerSpanStrategy.end`,
:meth:`~ServerSpanStrategy.end_with_response`).
Subclasses say only how a span is started, named and tagged:
:class:`OpenTracingStrategy` for any tracer, :class:`NoopStrategy` for
opentracing's own no-op Tracer, and ``otel.spans.OtelStrategy`` for
OpenTelemetry's shim.

Every call into the tracer is guarded: whatever the tracer or the request
does, the request is served, the failure is reported once on the
``pyramid_opentracing`` logger, and no scope is left active on the thread.
The span lives in the request's environ (under :data:`ENVIRON_KEY`, where
:func:`pyramid_opentracing.get_span` finds it) and the scope in the
caller's local variables. This is the per-request path of every traced
application: ``benchmarks/overhead.py`` measures what it costs.
"""
import logging
import sys

import opentracing
from opentracing.ext import tags

from .redaction import BODY_ATTRIBUTES
from .request_tags import (
    attribute_tag, error_fields, host_secrets, http_url, request_path_url, url_waits_for_route)
from .scrub import bound, safe_text
from .streaming import close_ends, conditional_status, finish_on_close

#: Where the span of a request is kept while the request runs.
ENVIRON_KEY = 'pyramid_opentracing.span'

HTTP_HEADERS = opentracing.Format.HTTP_HEADERS

#: What extract raises for bad headers, as the OpenTracing API says: not
#: worth a log line.
EXPECTED_EXTRACT_ERRORS = (
    opentracing.InvalidCarrierException,
    opentracing.SpanContextCorruptedException,
    opentracing.UnsupportedFormatException,
)

#: Bodies that are complete when the tween returns; any other app_iter is
#: streamed by the server after the tween returns.
COMPLETE_BODIES = (list, tuple)

#: At most this many scopes left active by the application are closed at
#: the end of a request (a bound against a scope manager that never empties).
MAX_LEAKED_SCOPES = 1024

#: Request attributes that hold (or parse) the request body. Tracing never
#: reads them: that would buffer the whole upload before the view runs and
#: consume ``wsgi.input``. They are tagged with the size the client announced.
UNREAD_ATTRIBUTES = BODY_ATTRIBUTES | {'POST', 'params'}

#: Of these, the ones that hold something other than the body when there is
#: none (the query parameters): read normally for a request without a body.
QUERY_ATTRIBUTES = frozenset({'POST', 'params'})


def outcome_of_exception(exc, status_if_unknown):
    """(status code, error) for an exception that ended a request.

    An HTTP exception is also the response the client gets: its status counts,
    and only a 5xx one is an error.
    """
    status = getattr(exc, 'status_int', None)
    if isinstance(status, int):
        return status, (exc if status >= 500 else None)
    return status_if_unknown, exc


def request_method(request, limit):
    """The HTTP method of ``request``, bounded to ``limit`` characters.

    Read from the environ: ``request.method`` is a property call (a
    ``DummyRequest`` has only that).
    """
    method = request.environ.get('REQUEST_METHOD') or request.method
    return method if len(method) <= limit and method.isalpha() else safe_text(method, limit)


def is_otel_shim(tracer):
    """Whether ``tracer`` is OpenTelemetry's OpenTracing shim, whose own
    start_span cannot set a span kind. Imports nothing: if the shim module
    is not loaded, no tracer can be one."""
    shim = sys.modules.get('opentelemetry.shim.opentracing_shim')
    return shim is not None and isinstance(tracer, shim.TracerShim)


def strategy_for(pyramid_tracer, tracer):
    """How ``pyramid_tracer`` makes server spans with the OpenTracing ``tracer``:
    real OpenTelemetry SERVER spans for the shim, nothing at all for
    opentracing's no-op Tracer, else plain OpenTracing. Never raises: if the
    OpenTelemetry strategy cannot be loaded, the shim is used through the
    OpenTracing API."""
    if type(tracer) is opentracing.Tracer:
        return NoopStrategy(pyramid_tracer, tracer)
    if is_otel_shim(tracer):
        try:
            from .otel.spans import OtelStrategy
            return OtelStrategy(pyramid_tracer, tracer)
        except Exception as exc:
            pyramid_tracer.failures.report(
                'loading the OpenTelemetry server spans', exc,
                'server spans are made through the OpenTracing API')
    return OpenTracingStrategy(pyramid_tracer, tracer)


class ServerSpanStrategy:
    """How one :class:`~pyramid_opentracing.PyramidTracer` makes server spans
    with one OpenTracing tracer (``.tracer``).

    Made once per tracer object. It keeps no copy of the PyramidTracer's
    settings (tag policy, callbacks, failure log): it reads them when a
    request needs them, so settings given after it was made still apply.
    Subclasses provide :meth:`start_active`, :meth:`start_name`,
    :meth:`route_name`, :meth:`current_name` (or :meth:`unchanged_name`),
    :meth:`set_name` and :meth:`tag_outcome`.
    """

    def __init__(self, pyramid_tracer, tracer):
        self.pyramid_tracer = pyramid_tracer
        self.tracer = tracer
        #: ``extract_parent(format, carrier)``: the caller's context, as
        #: :meth:`start_active` takes it (the tracer's span context here).
        self.extract_parent = tracer.extract
        try:
            self.scope_manager = tracer.scope_manager
        except Exception:  # a broken tracer: it fails again when it is used, guarded
            self.scope_manager = None

    # -- the lifecycle -------------------------------------------------------

    def serve(self, request, handler, attributes, response_of=None, status_if_unknown=500):
        """Serve ``request`` with ``handler(request)`` inside its server span,
        tagged with the request ``attributes`` at the end: what the tween and
        ``@trace`` both do. Returns what the handler returned.

        ``response_of(result)`` is the response of the handler's result (by
        default the result itself); ``status_if_unknown`` the status of an
        exception that is not an HTTP exception (None where an exception view
        may still answer).
        """
        scope = self.start(request)
        if scope is None:
            return handler(request)
        try:
            result = handler(request)
        except BaseException as exc:
            self.end(scope, request, attributes, *outcome_of_exception(exc, status_if_unknown))
            raise
        response = result if response_of is None else response_of(result)
        self.end_with_response(scope, request, attributes, response)
        return result

    def start(self, request):
        """Start and activate the span of ``request``, keep it in the environ
        and run ``ot.start_span_cb``: the scope, or None if the tracer failed
        (the request is then served untraced)."""
        try:
            try:
                parent = self.extract_parent(HTTP_HEADERS, request.headers)
            except Exception as exc:
                parent = self.no_parent(exc)
            scope = self.start_active(request, parent)
            span = scope.span
        except Exception as exc:
            self.report('starting the server span', exc, 'the request is served untraced')
            return None
        request.environ[ENVIRON_KEY] = span
        headers = self.pyramid_tracer.span_headers
        if headers is not None:
            headers.on_start(self, span, request)
        callback = self.pyramid_tracer.start_span_cb
        if callback is not None:
            self.run_start_span_cb(callback, span, request)
        return scope

    def end(self, scope, request, attributes, status_code, error):
        """Deactivate, tag the ``attributes`` and the outcome, and finish."""
        span = scope.span
        self.deactivate(scope, span)
        if attributes:
            self.tag_attributes(span, request, attributes)
        self.finish(span, request, status_code, error)

    def end_with_response(self, scope, request, attributes, response):
        """:meth:`end` for the ``response`` the handler returned (None if
        unknown): finished now, or when the server closes a streamed body."""
        if response is None:
            self.end(scope, request, attributes, None, None)
            return
        span = scope.span
        headers = self.pyramid_tracer.span_headers
        if headers is not None:  # captured response headers, the span's context
            headers.on_response(self, span, request, response)
        self.deactivate(scope, span)
        try:
            status = response.status_int
            error = getattr(request, 'exception', None) if status >= 500 else None
            if attributes:
                self.tag_attributes(span, request, attributes)
            end = None
            if not isinstance(response.app_iter, COMPLETE_BODIES):
                end = finish_on_close(response, self, span, request, status, error)
            if getattr(request, 'response_callbacks', None):
                self.end_after_callbacks(span, request, response, error, end)
                return
            if end is not None:
                return
            status = sent_status(response, request.environ, status)
        except Exception as exc:
            self.report('reading the response', exc, 'its span may be incomplete')
            status = error = None
        self.finish(span, request, status, error)

    def end_after_callbacks(self, span, request, response, error, end):
        """Finish ``span`` once the request's response callbacks have run:
        Pyramid runs them after the tweens, and they may change the
        response's status, replace its body, or fail (the client then gets a
        500). Done in a finished callback, which Pyramid runs right after
        them whatever they do, put first so that another finished callback
        failing cannot skip it (it runs the others itself, as Pyramid would,
        to see whether one fails); a streamed body (``end``, its
        :class:`~.streaming.SpanEnd`) still finishes when the server closes
        it, with the status the callbacks left, unless they failed."""
        # an exception being handled around the whole request is not theirs
        around = sys.exc_info()[1]

        def finished(request):
            failure = sys.exc_info()[1]  # what a callback raised goes by now
            if failure is around:
                failure = None
            later = None
            if failure is None:
                later = failure = run_finished_callbacks(request)
            try:
                if failure is not None:
                    status, failed = 500, failure  # no exception view is left to answer
                    if end is None:
                        self.finish(span, request, status, failed)
                    else:  # the body is not sent: nothing will close it
                        end.status, end.error = status, failed
                        end.done()
                elif end is None:
                    self.finish(span, request,
                                sent_status(response, request.environ, response.status_int), error)
                else:
                    end.status = response.status_int
                    if response.app_iter is not end.body:  # replaced, or wrapped (gzip)
                        close_ends(response, end)
            except Exception as exc:
                self.report('reading the response', exc, 'its span may be incomplete')
                if end is None:
                    self.finish(span, request, None, error)
                else:
                    end.done()
            if later is not None:
                raise later  # as Pyramid would have raised it
        request.add_finished_callback(finished)
        callbacks = request.finished_callbacks
        if hasattr(callbacks, 'rotate'):
            callbacks.rotate(1)  # first of them

    def finish(self, span, request, status_code, error):
        """Name the span after routing, tag the outcome and finish it (its
        scope must be closed already)."""
        environ = request.environ
        if environ.get(ENVIRON_KEY) is span:
            del environ[ENVIRON_KEY]
        try:
            self.name_after_routing(span, request)
            self.tag_outcome(span, request, status_code, error)
        except Exception as exc:
            self.report('tagging the finished server span', exc, 'its tags may be incomplete')
        try:
            self.end_span(span)
        except Exception as exc:
            self.report('finishing the server span', exc, 'the span may be lost')

    def end_span(self, span):
        """Finish ``span``: the last call on it."""
        span.finish()

    # -- naming ----------------------------------------------------------------

    def name_after_routing(self, span, request):
        """Name the span once routing is done: ``ot.operation_name_func``'s
        name (scrubbed), else the strategy's name for the matched route
        (:meth:`route_name`), bounded like any tag. A span still named as it
        started (:meth:`start_name`) is renamed; a name the application (the
        view, ``ot.start_span_cb``) gave it is kept. With :meth:`start_name`,
        the one place spans are named."""
        start = self.unchanged_name(span, request)
        if start is None:
            return  # named by the application
        pyramid_tracer = self.pyramid_tracer
        policy = pyramid_tracer.policy
        name = None
        function = pyramid_tracer.operation_name_func
        if function is not None:
            try:
                name = function(request)
                name = policy.text(str(name), policy.path_secrets(request)) if name else None
            except Exception as exc:
                self.report('ot.operation_name_func', exc, 'the default span name is used')
                name = None
        if name is None:
            route = getattr(request, 'matched_route', None)
            if route is None:
                return  # no route: the name it started with stays
            name = self.route_name(start, route)
            if len(name) > policy.max_tag_length:
                name = bound(name, policy.max_tag_length)
        if name != start:
            self.set_name(span, name)

    def unchanged_name(self, span, request):
        """The name ``span`` started with (:meth:`start_name`), if it has it
        still, or if the tracer does not tell (:meth:`current_name`); None
        if the application renamed it."""
        start = self.start_name(request_method(request, self.pyramid_tracer.policy.max_tag_length))
        current = self.current_name(span)
        return start if current is None or current == start else None

    # -- tags and callbacks --------------------------------------------------

    def run_start_span_cb(self, callback, span, request):
        """Run ``ot.start_span_cb`` on the started span; if it fails, it is
        reported and tracing goes on. A name it gives the span is kept."""
        try:
            callback(span, request)
        except Exception as exc:
            self.report('the ot.start_span_cb callback', exc, 'tracing goes on')

    def tag_attributes(self, span, request, attributes):
        """Tag ``span`` with each of the request ``attributes`` that exists.

        Body attributes are tagged with the announced size, never read.
        """
        policy = self.pyramid_tracer.policy
        secrets = policy.path_secrets(request) + host_secrets(request)
        for name in attributes:
            try:
                if name in UNREAD_ATTRIBUTES and (name not in QUERY_ATTRIBUTES or has_body(request)):
                    value = body_size_tag(request)
                else:
                    value = attribute_tag(name, getattr(request, name), policy, secrets)
            except AttributeError:
                continue
            except Exception as exc:
                self.report('reading request attribute %r' % name, exc, 'the attribute is not tagged')
                continue
            if value is not None:
                try:
                    span.set_tag(name, value)
                except Exception as exc:
                    self.report('tagging the server span', exc, 'its tags may be incomplete')
                    return

    # -- failures ----------------------------------------------------------------

    def report(self, operation, exc, consequence, level=logging.ERROR):
        self.pyramid_tracer.failures.report(operation, exc, consequence, level)

    def no_parent(self, exc):
        """After extract raised ``exc``: report it unless it is one the
        OpenTracing API lists for bad headers; the request has no parent."""
        if not isinstance(exc, EXPECTED_EXTRACT_ERRORS):
            self.report("reading the caller's trace context from the request headers", exc,
                        'the request starts a new trace', level=logging.WARNING)

    #: Whether :meth:`deactivate` looks for scopes the application left
    #: active above the span's (OpenTelemetry's scopes do it themselves).
    checks_leaked_scopes = True

    def deactivate(self, scope, span):
        """Make the span inactive on this thread, by force if the tracer
        fails to, and leave the thread's scopes as the request found them."""
        if self.checks_leaked_scopes:
            try:
                leaked = self.scope_manager.active is not scope
            except Exception:
                leaked = False  # a scope manager that cannot tell
            if leaked:
                self.close_leaked_scopes(scope, span)
        try:
            scope.close()
        except Exception as exc:
            self.report('closing the active scope', exc, 'the scope is closed by force')
            try:
                for _ in range(2):
                    active = self.scope_manager.active
                    if active is None or (active is not scope and active.span is not span):
                        return
                    active.close()
            except Exception:
                pass  # nothing more can be done without the tracer's internals

    def close_leaked_scopes(self, scope, span):
        """Close the scopes the application left active above ``scope``
        during the request (a ``start_active_span`` never closed, or closed
        only after the request, in a finished callback), so that ``scope``
        closes to what was active before it: else the server span, finished,
        would become active again when they close, the parent of whatever the
        thread does next, and scopes never closed would chain up, request
        after request."""
        try:
            for _ in range(MAX_LEAKED_SCOPES):
                active = self.scope_manager.active
                if active is None or active is scope or active.span is span:
                    break
                active.close()
        except Exception:
            pass  # the tracer's own failure: nothing more can be done
        self.report('the application left a span active at the end of the request',
                    LookupError('a scope activated during the request was still active'),
                    'it was closed, its span finished', level=logging.WARNING)

    # -- what subclasses provide -------------------------------------------------

    def start_active(self, request, parent):  # pragma: no cover - abstract
        """Start the server span of ``request`` as a child of ``parent`` (or
        of nothing, whatever is active) and make it active: its scope."""
        raise NotImplementedError

    def start_name(self, method):  # pragma: no cover - abstract
        """The name the span of a request with HTTP ``method`` starts with,
        and keeps when no route matches."""
        raise NotImplementedError

    def route_name(self, start_name, route):  # pragma: no cover - abstract
        """The name of a span started as ``start_name``, once its request
        is routed to ``route``."""
        raise NotImplementedError

    def current_name(self, span):  # pragma: no cover - abstract
        """The name ``span`` has now, or None if the tracer does not tell."""
        raise NotImplementedError

    def set_name(self, span, name):  # pragma: no cover - abstract
        raise NotImplementedError

    def tag_outcome(self, span, request, status_code, error):  # pragma: no cover - abstract
        """Tag the route, the status code and the error, if any."""
        raise NotImplementedError


def sent_status(response, environ, status):
    """The status a complete ``response`` whose status is ``status`` is sent
    with: that one, or for a conditional response, what WebOb makes of the
    request's validators and ``Range``."""
    if response.conditional_response:
        return conditional_status(response, environ)
    return status


def run_finished_callbacks(request):
    """Run the request's finished callbacks still to run, in order, as
    Pyramid does; the exception one raised (which ends them), or None."""
    callbacks = request.finished_callbacks
    try:
        while callbacks:
            callbacks.popleft()(request)
    except Exception as exc:
        return exc
    return None


def has_body(request):
    """Whether ``request`` comes with a body (announced, or chunked)."""
    environ = request.environ
    return (environ.get('CONTENT_LENGTH') not in (None, '', '0')
            or 'chunked' in environ.get('HTTP_TRANSFER_ENCODING', '').lower())


def body_size_tag(request):
    """The tag of a body attribute, from the Content-Length the client sent."""
    length = request.environ.get('CONTENT_LENGTH')
    if length and length.isdigit():
        return '[body: %d bytes]' % int(length)
    return '[body]' if has_body(request) else None


class OpenTracingStrategy(ServerSpanStrategy):
    """Server spans through the OpenTracing API alone, for any tracer."""

    def start_active(self, request, parent):
        """Start the server span of ``request`` and make it active, tagged
        with what is known before routing."""
        policy = self.pyramid_tracer.policy
        limit = policy.max_tag_length
        url = request_path_url(request)
        if (policy.trace_query_string or len(url) > limit
                or '@' in url or '=' in url or '%' in url):
            url = http_url(request, policy)  # scrubbed, bounded: a plain URL needs neither
        method = request_method(request, limit)
        start_tags = {
            tags.COMPONENT: 'pyramid',
            tags.SPAN_KIND: tags.SPAN_KIND_RPC_SERVER,
            tags.HTTP_METHOD: method,
            tags.HTTP_URL: url,
        }
        if url_waits_for_route(request, policy):
            del start_tags[tags.HTTP_URL]  # tagged by tag_outcome
        return self.tracer.start_active_span(
            self.start_name(method), child_of=parent, finish_on_close=False,
            ignore_active_span=True, tags=start_tags)

    def start_name(self, method):
        """The HTTP method."""
        return method

    def route_name(self, start_name, route):
        """The route's name."""
        return route.name

    def current_name(self, span):
        # MockTracer, basictracer and jaeger-client spans all keep it here
        return getattr(span, 'operation_name', None)

    def set_name(self, span, name):
        span.set_operation_name(name)

    def tag_outcome(self, span, request, status_code, error):
        policy = self.pyramid_tracer.policy
        route = getattr(request, 'matched_route', None)
        if route is not None:
            span.set_tag('pyramid.route', route.name)
        secrets = ()
        if url_waits_for_route(request, policy):  # the app has secret routes
            secrets = policy.path_secrets(request)
            span.set_tag(tags.HTTP_URL, http_url(request, policy, secrets))
            headers = self.pyramid_tracer.span_headers
            if headers is not None:  # the captured request headers waited too
                headers.on_routed(self, span, request, secrets)
        if status_code is not None:
            span.set_tag(tags.HTTP_STATUS_CODE, status_code)
        if error is not None:
            span.set_tag(tags.ERROR, True)
            span.log_kv(error_fields(error, policy, secrets))
        elif status_code is not None and status_code >= 500:
            span.set_tag(tags.ERROR, True)


    # -- the trace handed back to the client ------------------------------------

    def traceparent(self, span):
        """The W3C ``traceparent`` of ``span``, from the integer ids MockTracer,
        basictracer and jaeger-client give, with jaeger-client's sampled flag
        (``flags``) or basictracer's (``sampled``); None for other ids."""
        context = span.context
        trace_id = getattr(context, 'trace_id', None)
        span_id = getattr(context, 'span_id', None)
        if not (type(trace_id) is int and type(span_id) is int and trace_id > 0 and span_id > 0):
            return None
        flags = getattr(context, 'flags', None)
        sampled = flags & 1 if type(flags) is int else getattr(context, 'sampled', True)
        return '00-%032x-%016x-%02x' % (trace_id % (1 << 128), span_id % (1 << 64), bool(sampled))


class NoopStrategy(OpenTracingStrategy):
    """For opentracing's own no-op Tracer (the default global tracer), which
    records nothing: calling it would be all of the cost of an application
    that traces nothing. Unless ``ot.start_span_cb`` wants to see spans, the
    tracer is not called and every request gets the same no-op span, so that
    views can still tag it through ``get_span()``."""

    def __init__(self, pyramid_tracer, tracer):
        super().__init__(pyramid_tracer, tracer)
        self.noop_span = opentracing.Span(tracer, opentracing.SpanContext())

    def serve(self, request, handler, attributes, response_of=None, status_if_unknown=500):
        if self.pyramid_tracer.start_span_cb is not None:
            return super().serve(request, handler, attributes, response_of, status_if_unknown)
        environ = request.environ
        environ[ENVIRON_KEY] = self.noop_span
        try:
            return handler(request)
        finally:
            environ.pop(ENVIRON_KEY, None)
