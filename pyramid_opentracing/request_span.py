"""The server span of a request: start, activate, tag, deactivate, finish.

Every call into the tracer is guarded: whatever the tracer or the request
does, the request is served, the failure is reported once on the
``pyramid_opentracing`` logger, and no scope is left active on the thread.

This is the per-request path of every traced application, so it allocates
nothing of its own: the span lives in the request's environ (under
:data:`ENVIRON_KEY`, where :func:`pyramid_opentracing.get_span` finds it),
the scope in the caller's local variables, and :class:`ServerSpans` is made
once per tracer. ``benchmarks/overhead.py`` measures what it costs.
"""
import logging

import opentracing
from opentracing.ext import tags

from .request_tags import (
    attribute_tag, error_fields, http_url, remember_traced_attributes, retag_secret_path)

#: Where the span of a request is kept while the request runs.
ENVIRON_KEY = 'pyramid_opentracing.span'

#: Set in the environ when ``ot.start_span_cb`` named the span: the name it
#: gave is kept instead of the route's.
NAMED_BY_USER_KEY = 'pyramid_opentracing.named_by_user'

HTTP_HEADERS = opentracing.Format.HTTP_HEADERS

#: What extract raises for bad headers, as the OpenTracing API says: not
#: worth a log line.
EXPECTED_EXTRACT_ERRORS = (
    opentracing.InvalidCarrierException,
    opentracing.SpanContextCorruptedException,
    opentracing.UnsupportedFormatException,
)


def outcome_of_exception(exc, status_if_unknown):
    """(status code, error) for an exception that ended a request.

    An HTTP exception is also the response the client gets: its status counts,
    and only a 5xx one is an error.
    """
    status = getattr(exc, 'status_int', None)
    if isinstance(status, int):
        return status, (exc if status >= 500 else None)
    return status_if_unknown, exc


class ServerSpans:
    """Makes the server spans of one :class:`PyramidTracer` with one tracer.

    :meth:`start` and :meth:`end` bracket a request (the tween writes them
    out). Subclasses say how a span starts (:meth:`start_active`), what it
    is called once routing is done (:meth:`operation_name`) and how it is
    renamed and tagged at the end (:meth:`tag_outcome`): :class:`OpenTracingSpans`
    for any tracer, and the OpenTelemetry bridge's SERVER spans for the shim.
    The work is spread over few calls on purpose: at this depth a Python
    call costs as much as a tracer call.
    """

    #: Set when the tracer records nothing at all: the tween then makes no
    #: tracer calls and keeps this span in the environ for get_span().
    noop_span = None

    def __init__(self, owner, tracer):
        self.owner = owner
        self.tracer = tracer
        self.policy = owner.policy
        self.failures = owner.failures

    def start(self, request, attributes, name):
        """Start and activate the span of ``request`` and keep it in the
        environ: the scope, or None if the tracer failed (the request is then
        served untraced). The tween does the same, written out."""
        try:
            try:
                parent = self.tracer.extract(HTTP_HEADERS, request.headers)
            except Exception as exc:
                parent = self.no_parent(exc)
            scope = self.start_active(request, name, parent)
            span = scope.span
        except Exception as exc:
            self.failed_to_start(exc)
            return None
        request.environ[ENVIRON_KEY] = span
        if (attributes or self.owner.start_span_cb is not None) and not self.decorate(
                scope, span, request, attributes):
            return None
        return scope

    def no_parent(self, exc):
        """After extract raised ``exc``: report it unless it is one the
        OpenTracing API lists for bad headers; the request has no parent."""
        if not isinstance(exc, EXPECTED_EXTRACT_ERRORS):
            self.failures.report(
                "reading the caller's trace context from the request headers", exc,
                'the request starts a new trace', level=logging.WARNING)

    def failed_to_start(self, exc):
        self.failures.report('starting the server span', exc, 'the request is served untraced')

    def decorate(self, scope, span, request, attributes):
        """Tag the traced ``attributes`` and run ``ot.start_span_cb``; False
        (and the span abandoned) if the tracer failed."""
        try:
            if attributes:
                tag_attributes(span, request, attributes, self.owner)
            if self.owner.start_span_cb is not None:
                self._call_start_span_cb(span, request)
        except Exception as exc:
            self.failures.report('tagging the server span', exc, 'the request is served untraced')
            self.abandon(scope, span, request)
            return False
        return True

    def _call_start_span_cb(self, span, request):
        environ = request.environ
        environ.pop(NAMED_BY_USER_KEY, None)  # left by an earlier attempt (pyramid_retry)
        watcher = _RenameWatcher(span)
        try:
            self.owner.start_span_cb(watcher, request)
        except Exception as exc:
            self.failures.report('the ot.start_span_cb callback', exc, 'tracing goes on')
        if watcher.renamed:
            environ[NAMED_BY_USER_KEY] = True

    def end(self, scope, request, name, status_code, error):
        """Deactivate, tag the outcome and finish: the end of a request.
        ``name`` is the name the span started with."""
        span = scope.span
        self.deactivate(scope, span)
        self.finish(span, request, name, status_code, error)

    def deactivate(self, scope, span):
        """Make the span inactive on this thread, by force if the tracer fails to."""
        try:
            scope.close()
        except Exception as exc:
            self.force_deactivate(scope, span, exc)

    def force_deactivate(self, scope, span, exc):
        """After ``scope.close()`` raised ``exc``: close whatever the scope
        manager still holds active for our span."""
        self.failures.report('closing the active scope', exc, 'the scope is closed by force')
        try:
            for _ in range(2):
                active = self.tracer.scope_manager.active
                if active is None or (active is not scope and active.span is not span):
                    return
                active.close()
        except Exception:
            pass  # nothing more can be done without the tracer's internals

    def finish(self, span, request, name, status_code, error):
        """Rename the span after its route, tag the outcome and finish it (its
        scope must be closed already). The tween does the same, written out."""
        environ = request.environ
        if environ.get(ENVIRON_KEY) is span:
            del environ[ENVIRON_KEY]
        try:
            self.tag_outcome(span, request, name, status_code, error)
        except Exception as exc:
            self.failed_to_tag(exc)
        try:
            span.finish()
        except Exception as exc:
            self.failed_to_finish(exc)

    def failed_to_tag(self, exc):
        self.failures.report('tagging the finished server span', exc, 'its tags may be incomplete')

    def failed_to_finish(self, exc):
        self.failures.report('finishing the server span', exc, 'the span may be lost')

    def abandon(self, scope, span, request):
        """Give up on a span after a tracer failure: deactivate and drop it."""
        self.deactivate(scope, span)
        environ = request.environ
        if environ.get(ENVIRON_KEY) is span:
            del environ[ENVIRON_KEY]
        try:
            span.finish()
        except Exception:
            pass  # the tracer already failed and was reported once

    def start_active(self, request, name, parent):  # pragma: no cover - abstract
        """Start the server span of ``request`` and make it active: its scope."""
        raise NotImplementedError

    def operation_name(self, request):  # pragma: no cover - abstract
        """The span name for ``request`` as routed so far."""
        raise NotImplementedError

    def tag_outcome(self, span, request, name, status_code, error):  # pragma: no cover - abstract
        """Rename the span after routing (``name`` is its name so far, and a
        name ``ot.start_span_cb`` gave is kept) and tag the outcome."""
        raise NotImplementedError


class OpenTracingSpans(ServerSpans):
    """Server spans through the OpenTracing API alone, for any tracer."""

    def __init__(self, owner, tracer):
        super().__init__(owner, tracer)
        if type(tracer) is opentracing.Tracer and owner.start_span_cb is None:
            # opentracing's own no-op Tracer (the default global tracer)
            # records nothing: calling it would be all of the cost of an app
            # that traces nothing. Every span it makes is this one.
            self.noop_span = tracer.start_span('noop')

    def start_active(self, request, name, parent):
        """Start the server span of ``request`` and make it active, tagged
        with what is known before routing."""
        policy = self.policy
        url = request.path_url
        if (policy.trace_query_string or len(url) > policy.max_tag_length
                or '@' in url or '=' in url or '%' in url):
            url = http_url(request, policy)  # scrubbed, bounded: a plain URL needs neither
        return self.tracer.start_active_span(name, child_of=parent, finish_on_close=False, tags={
            tags.COMPONENT: 'pyramid',
            tags.SPAN_KIND: tags.SPAN_KIND_RPC_SERVER,
            # request.method, without its property call (DummyRequest has only that)
            tags.HTTP_METHOD: request.environ.get('REQUEST_METHOD') or request.method,
            tags.HTTP_URL: url,
        })

    def operation_name(self, request):
        return self.owner.operation_name(request)

    def tag_outcome(self, span, request, name, status_code, error):
        """Rename after the route; tag the route, status code and error, if any."""
        route = getattr(request, 'matched_route', None)
        if self.owner.operation_name_func is None:
            routed_name = request.method if route is None else route.name
        else:
            routed_name = self.owner.operation_name(request)
        if routed_name != name and NAMED_BY_USER_KEY not in request.environ:
            span.set_operation_name(routed_name)
        secrets = ()
        if route is not None:
            span.set_tag('pyramid.route', route.name)
            if self.policy.secret_placeholders(route):
                secrets = self.policy.path_secrets(request)
                span.set_tag(tags.HTTP_URL, http_url(request, self.policy, secrets))
                retag_secret_path(span, request, self.policy, secrets)
        if status_code is not None:
            span.set_tag(tags.HTTP_STATUS_CODE, status_code)
        if error is not None:
            span.set_tag(tags.ERROR, True)
            span.log_kv(error_fields(error, self.policy, secrets))
        elif status_code is not None and status_code >= 500:
            span.set_tag(tags.ERROR, True)


def tag_attributes(span, request, attributes, owner):
    """Tag ``span`` with each of the request ``attributes`` that exists."""
    policy = owner.policy
    remember_traced_attributes(request, attributes)
    secrets = policy.path_secrets(request)
    for name in attributes:
        try:
            value = attribute_tag(name, getattr(request, name), policy, secrets)
        except AttributeError:
            continue
        except Exception as exc:
            owner.failures.report(
                'reading request attribute %r' % name, exc, 'the attribute is not tagged')
            continue
        if value is not None:
            span.set_tag(name, value)


class _RenameWatcher:
    """The span as the start_span_cb sees it: notes whether it was renamed,
    so that our route naming does not overwrite the user's name."""

    __slots__ = ('_span', 'renamed')

    def __init__(self, span):
        self._span = span
        self.renamed = False

    def set_operation_name(self, operation_name):
        self.renamed = True
        self._span.set_operation_name(operation_name)
        return self

    def __getattr__(self, name):
        return getattr(self._span, name)
