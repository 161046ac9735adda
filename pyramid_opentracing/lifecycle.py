"""Serve a request inside its server span: start, end, finish, leaked scopes.

One lifecycle for the tween and the ``@trace`` decorator alike: a
:class:`ServerSpanStrategy` made once per PyramidTracer and OpenTracing
tracer serves a request inside its span (:meth:`~ServerSpanStrategy.serve`):
it starts the span (:meth:`~ServerSpanStrategy.start`), calls the handler and
ends the span (:meth:`~ServerSpanStrategy.end`,
:meth:`~ServerSpanStrategy.end_with_response`); what depends on the route is
done once routing is (:mod:`~.routing`). Subclasses say only how a span is
started, named and tagged: ``opentracing_strategy.OpenTracingStrategy``
for any tracer, ``opentracing_strategy.NoopStrategy`` for opentracing's own
no-op Tracer, and ``otel.spans.OtelStrategy`` for OpenTelemetry's shim.

Every call into the tracer is guarded: whatever the tracer or the request
does, the request is served, the failure is reported once on the
``pyramid_opentracing`` logger, and no scope is left active on the thread.
The span lives in the request's environ (under :data:`ENVIRON_KEY`, where
:func:`pyramid_opentracing.get_span` finds it) and the scope in the
caller's local variables.

A request pyramid_retry serves runs once per attempt, each with its own
span, tagged :data:`RETRY_ATTEMPT_TAG` (the attempt's number, 0 for the
first, as pyramid_retry counts). An attempt that ends with an error
pyramid_retry retries sent nothing to the client, so its span says it was
retried instead of failing: :data:`RETRIED_TAG` true, no status code, no
error, and the error recorded as an event (:meth:`~ServerSpanStrategy.tag_retried`).
Only the span of the attempt that answers tells the outcome, and it is the
one the HTTP server metrics count (``otel.metrics``). Whether an attempt is
retried is asked of pyramid_retry's own predicate as the exception leaves
the span, before pyramid_retry decides on the same request and exception:
its ``IBeforeRetry`` event comes after the span has ended and been counted.
So an error raised above our tween once the span has ended (a commit failing
in pyramid_tm listed above it in ``pyramid.tweens``) is not seen: the
outermost place, where ``includeme`` puts the tween, sees every one.
"""
import logging

import opentracing

from ._pyramid import retried, retry_attempt
from .route_secrets import url_waits_for_route
from .routing import ROUTING_KEY, route_known
from .streaming import finish_after_callbacks, finish_on_close, sent_status
from .tags import request_attribute_tag, request_method
from .urls import host_secrets

__all__ = ['ENVIRON_KEY', 'HTTP_HEADERS', 'MAX_LEAKED_SCOPES', 'RETRIED_TAG',
           'RETRY_ATTEMPT_TAG', 'ServerSpanStrategy', 'close_scopes_above',
           'outcome_of_exception']

#: Where the span of a request is kept while the request runs.
ENVIRON_KEY = 'pyramid_opentracing.span'

HTTP_HEADERS = opentracing.Format.HTTP_HEADERS

#: The tag of a span whose attempt pyramid_retry retried: true.
RETRIED_TAG = 'pyramid.retried'

#: The tag of each span of a request pyramid_retry serves: the number of the
#: attempt, 0 for the first.
RETRY_ATTEMPT_TAG = 'pyramid.retry.attempt'

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


def close_scopes_above(active, stops):
    """Close the scopes left active above a server span's: ``active()`` is
    the active scope (None for none), ``stops(scope)`` whether ``scope`` is
    where closing stops (the server span's own). Stops too at a scope that
    fails to close or stays active (closing it again would not help), and
    after :data:`MAX_LEAKED_SCOPES`."""
    for _ in range(MAX_LEAKED_SCOPES):
        scope = active()
        if scope is None or stops(scope):
            return
        try:
            scope.close()
        except Exception:
            return  # the tracer's own failure: nothing more can be done
        if active() is scope:
            return


def outcome_of_exception(exc, status_if_unknown):
    """(status code, error) for an exception that ended a request.

    An HTTP exception is also the response the client gets: its status counts,
    and only a 5xx one is an error.
    """
    status = getattr(exc, 'status_int', None)
    if isinstance(status, int):
        return status, (exc if status >= 500 else None)
    return status_if_unknown, exc


class ServerSpanStrategy:
    """How one :class:`~pyramid_opentracing.PyramidTracer` makes server spans
    with one OpenTracing tracer (``.tracer``).

    Made once per tracer object, it reads the PyramidTracer's settings when
    a request needs them, so settings given after it was made still apply.
    Subclasses provide the methods at the end of the class.
    """

    def __init__(self, pyramid_tracer, tracer):
        self.pyramid_tracer = pyramid_tracer
        self.tracer = tracer
        #: ``extract_parent(format, carrier)``: the caller's context, as
        #: :meth:`start_active` takes it (the tracer's span context here).
        self.extract_parent = self.scope_manager = None
        try:
            self.extract_parent = tracer.extract
            self.scope_manager = tracer.scope_manager
        except Exception:  # a broken tracer: it fails again when it is used, guarded
            pass

    # -- the lifecycle -------------------------------------------------------

    def serve(self, request, handler, attributes, response_of=None, status_if_unknown=500,
              routed=False):
        """Serve ``request`` with ``handler(request)`` inside its server span,
        tagged with the request ``attributes`` at the end: what the tween and
        ``@trace`` both do. Returns what the handler returned.

        ``response_of(result)`` is the response of the handler's result (by
        default the result itself); ``status_if_unknown`` the status of an
        exception that is not an HTTP exception (None where an exception view
        may still answer); ``routed`` whether the request is routed already.
        """
        scope = self.start(request, routed)
        if scope is None:
            return handler(request)
        try:
            result = handler(request)
        except BaseException as exc:
            if retried(request, exc):
                self.end(scope, request, attributes, None, None, retry_cause=exc)
            else:
                self.end(scope, request, attributes, *outcome_of_exception(exc, status_if_unknown))
            raise
        response = result if response_of is None else response_of(result)
        self.end_with_response(scope, request, attributes, response)
        return result

    def start(self, request, routed=False):
        """Start and activate the span of ``request``, keep it in the environ
        and run ``ot.start_span_cb``: the scope, or None if the tracer failed
        (the request is then served untraced). What depends on the route is
        done now if the request is ``routed``, else once it is (see
        :mod:`~.routing`)."""
        try:
            url_waits = url_waits_for_route(request, self.pyramid_tracer.policy)
            try:
                parent = self.extract_parent(HTTP_HEADERS, request.headers)
            except Exception as exc:
                parent = self.no_parent(exc)
            scope = self.start_active(request, parent, url_waits)
            span = scope.span
        except Exception as exc:
            self.report('starting the server span', exc, 'the request is served untraced')
            return None
        environ = request.environ
        environ[ENVIRON_KEY] = span
        headers = self.pyramid_tracer.span_headers
        if headers is not None:
            headers.on_start(self, span, request)
        callback = self.pyramid_tracer.start_span_cb
        if callback is not None:
            self.run_start_span_cb(callback, span, request)
        attempt = retry_attempt(request)
        if attempt is not None:
            self.tag_retry_attempt(span, attempt)
        if routed:
            route_known(self, span, request, url_waits)
        else:
            environ[ROUTING_KEY] = (self, span, url_waits)
        return scope

    def end(self, scope, request, attributes, status_code, error, retry_cause=None):
        """Deactivate, tag the ``attributes`` and the outcome, and finish;
        with ``retry_cause``, the exception pyramid_retry retries the
        request after, as the outcome of a retried attempt."""
        span = scope.span
        self.deactivate(scope, span)
        if attributes:
            self.tag_attributes(span, request, attributes)
        self.finish(span, request, status_code, error, retry_cause)

    def end_with_response(self, scope, request, attributes, response):
        """:meth:`end` for the ``response`` the handler returned (None if
        unknown): finished now, or when the server closes a streamed body.
        A response rendered for an error pyramid_retry retries is never
        sent: the attempt ends retried."""
        if response is None:
            self.end(scope, request, attributes, None, None)
            return
        squashed = getattr(request, 'exception', None)
        if squashed is not None and retried(request, squashed):
            self.end(scope, request, attributes, None, None, retry_cause=squashed)
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
                finish_after_callbacks(self, span, request, response, error, end)
                return
            if end is not None:
                return
            status = sent_status(response, request.environ, status)
        except Exception as exc:
            self.report('reading the response', exc, 'its span may be incomplete')
            status = error = None
        self.finish(span, request, status, error)

    def finish(self, span, request, status_code, error, retry_cause=None):
        """Tag the outcome (with ``retry_cause``, that of a retried attempt)
        and finish the span (its scope must be closed already); first what
        depends on the route, if routing never said."""
        environ = request.environ
        if environ.get(ENVIRON_KEY) is span:
            del environ[ENVIRON_KEY]
        waiting = environ.get(ROUTING_KEY)
        if waiting is not None and waiting[1] is span:
            del environ[ROUTING_KEY]
            route_known(self, span, request, waiting[2], False)  # no view served it
        try:
            if retry_cause is None:
                self.tag_outcome(span, request, status_code, error)
            else:
                self.tag_retried(span, request, retry_cause)
        except Exception as exc:
            self.report('tagging the finished server span', exc, 'its tags may be incomplete')
        try:
            self.end_span(span)
        except Exception as exc:
            self.report('finishing the server span', exc, 'the span may be lost')

    def end_span(self, span):
        """Finish ``span``: the last call on it."""
        span.finish()

    # -- naming (see :mod:`~.routing`) --------------------------------------

    def unchanged_name(self, span, request):
        """The name ``span`` started with, if it has it still or the tracer
        does not tell (:meth:`current_name`); None if it was renamed."""
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

        Tagged at the end of the request, when every attribute has its final
        value, but for a name the span carries already: a tag the view (or a
        callback, or ``@trace``) set keeps the application's value. A span
        that does not tell its tags (see :meth:`tag_names`) gets them all.
        Body attributes are tagged with the announced size, never read.
        """
        policy = self.pyramid_tracer.policy
        secrets = policy.path_secrets(request) + host_secrets(request)
        tagged = self.tag_names(span)
        for name in attributes:
            if name in tagged:
                continue
            try:
                value = request_attribute_tag(request, name, policy, secrets)
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

    def tag_retry_attempt(self, span, attempt):
        """Tag the number of the attempt the span serves under pyramid_retry."""
        try:
            span.set_tag(RETRY_ATTEMPT_TAG, attempt)
        except Exception as exc:
            self.report('tagging the server span', exc, 'its tags may be incomplete')

    def tag_names(self, span):
        """The names of the tags ``span`` carries, as far as it tells: a
        dict of them (MockTracer, basictracer) or a list of tags with a
        ``key`` (jaeger-client); else none."""
        tags = getattr(span, 'tags', None)
        if isinstance(tags, dict):
            return tags
        if isinstance(tags, list):
            return {getattr(tag, 'key', None) for tag in tags}
        return ()

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
        """Close the scopes the application left active above ``scope`` (a
        ``start_active_span`` never closed, or closed after the request):
        else the finished server span would become active again when they
        close, the parent of whatever the thread does next."""
        manager = self.scope_manager
        try:
            close_scopes_above(lambda: manager.active,
                               lambda active: active is scope or active.span is span)
        except Exception:
            pass  # a scope manager that cannot tell what is active
        self.report('the application left a span active at the end of the request',
                    LookupError('a scope activated during the request was still active'),
                    'it was closed, its span finished', level=logging.WARNING)

    # -- what subclasses provide -------------------------------------------------

    def start_active(self, request, parent, url_waits):  # pragma: no cover - abstract
        """Start the server span of ``request`` as a child of ``parent`` (or
        of nothing, whatever is active) and make it active: its scope. With
        ``url_waits``, without its URL (see :mod:`~.routing`)."""
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

    def tag_route(self, span, request, route, secrets, url_waits):  # pragma: no cover
        """Tag the matched ``route`` (None for none) and, with ``url_waits``,
        the URL without the request's path ``secrets``."""
        raise NotImplementedError

    def tag_outcome(self, span, request, status_code, error):  # pragma: no cover - abstract
        """Tag the status code and the error, if any."""
        raise NotImplementedError

    def tag_retried(self, span, request, cause):  # pragma: no cover - abstract
        """Tag the outcome of an attempt pyramid_retry retries after the
        exception ``cause``: :data:`RETRIED_TAG`, and ``cause`` as an event,
        not as an error (the client never saw it)."""
        raise NotImplementedError
