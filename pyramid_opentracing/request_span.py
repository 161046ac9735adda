"""The life of one server span: start, activate, tag, deactivate, finish.

Every call into the tracer is guarded: whatever the tracer or the request
does, the request is served, the failure is reported once on the
``pyramid_opentracing`` logger, and no scope is left active on the thread.
"""
import logging

import opentracing
from opentracing.ext import tags

from .request_tags import attribute_tag, error_fields, start_tags

#: Where the span of a request is kept while the request runs.
ENVIRON_KEY = 'pyramid_opentracing.span'

_EXPECTED_EXTRACT_ERRORS = (
    opentracing.InvalidCarrierException,
    opentracing.SpanContextCorruptedException,
    opentracing.UnsupportedFormatException,
)


def extract_parent(owner, tracer, request):
    """The caller's span context from the request headers, or None."""
    try:
        return tracer.extract(opentracing.Format.HTTP_HEADERS, request.headers)
    except _EXPECTED_EXTRACT_ERRORS:
        return None
    except Exception as exc:
        owner.failures.report(
            "reading the caller's trace context from the request headers", exc,
            'the request starts a new trace', level=logging.WARNING)
        return None


def outcome_of_exception(exc, status_if_unknown):
    """(status code, error) for an exception that ended a request.

    An HTTP exception is also the response the client gets: its status counts,
    and only a 5xx one is an error.
    """
    status = getattr(exc, 'status_int', None)
    if isinstance(status, int):
        return status, (exc if status >= 500 else None)
    return status_if_unknown, exc


class RequestSpan:
    """The server span of one request and the scope that made it active."""

    __slots__ = ('owner', 'spans', 'scope', 'span', 'name', 'renamed_by_user')

    def __init__(self, owner, spans, scope, name):
        self.owner = owner
        self.spans = spans
        self.scope = scope
        self.span = scope.span
        self.name = name
        self.renamed_by_user = False

    @classmethod
    def start(cls, owner, request, attributes, name):
        """Start, activate and store the span of ``request``; None if tracing failed."""
        try:
            spans = owner.server_spans()
            parent = extract_parent(owner, spans.tracer, request)
            scope = spans.start_active(request, owner.policy, name, parent)
            self = cls(owner, spans, scope, name)
        except Exception as exc:
            owner.failures.report('starting the server span', exc, 'the request is served untraced')
            return None
        request.environ[ENVIRON_KEY] = self
        try:
            if attributes:
                self.tag_attributes(request, attributes)
            if owner.start_span_cb is not None:
                self._call_start_span_cb(request)
        except Exception as exc:
            owner.failures.report('tagging the server span', exc, 'the request is served untraced')
            self.abandon(request)
            return None
        return self

    def tag_attributes(self, request, attributes):
        """Tag the span with each of the request ``attributes`` that exists."""
        policy = self.owner.policy
        span = self.span
        for name in attributes:
            try:
                value = attribute_tag(name, getattr(request, name), policy)
            except AttributeError:
                continue
            except Exception as exc:
                self.owner.failures.report(
                    'reading request attribute %r' % name, exc, 'the attribute is not tagged')
                continue
            if value is not None:
                span.set_tag(name, value)

    def _call_start_span_cb(self, request):
        watcher = _RenameWatcher(self.span)
        try:
            self.owner.start_span_cb(watcher, request)
        except Exception as exc:
            self.owner.failures.report('the ot.start_span_cb callback', exc, 'tracing goes on')
        self.renamed_by_user = watcher.renamed

    def deactivate(self):
        """Make the span inactive on this thread, by force if the tracer fails to."""
        try:
            self.scope.close()
        except Exception as exc:
            self.owner.failures.report('closing the active scope', exc, 'the scope is closed by force')
            _force_deactivate(self.spans.tracer, self.scope, self.span)

    def end(self, request, status_code, error):
        """Deactivate, tag the outcome and finish: the end of a request."""
        self.deactivate()
        self.finish(request, status_code, error)

    def finish(self, request, status_code, error):
        """Tag the outcome and finish the span (the scope must be closed already)."""
        environ = request.environ
        if environ.get(ENVIRON_KEY) is self:
            del environ[ENVIRON_KEY]
        span = self.span
        try:
            name = self.spans.operation_name(self.owner, request)
            if name != self.name and not self.renamed_by_user:
                span.set_operation_name(name)
            self.spans.tag_outcome(span, request, status_code, error, self.owner.policy)
        except Exception as exc:
            self.owner.failures.report('tagging the finished server span', exc, 'its tags may be incomplete')
        try:
            span.finish()
        except Exception as exc:
            self.owner.failures.report('finishing the server span', exc, 'the span may be lost')

    def abandon(self, request):
        """Give up on this span after a tracer failure: deactivate and drop it."""
        self.deactivate()
        environ = request.environ
        if environ.get(ENVIRON_KEY) is self:
            del environ[ENVIRON_KEY]
        try:
            self.span.finish()
        except Exception:
            pass  # the tracer already failed and was reported once


class OpenTracingSpans:
    """Server spans through the OpenTracing API alone, for any tracer.

    :meth:`PyramidTracer.server_spans` picks this, or the OpenTelemetry
    bridge's SERVER spans when the tracer is the OpenTelemetry shim.
    """

    __slots__ = ('tracer', 'keeps_tags')

    def __init__(self, tracer):
        self.tracer = tracer
        #: opentracing's own no-op Tracer (the default global tracer) drops
        #: every tag: building the start tags for it (the URL above all) would
        #: be most of the cost of an app that traces nothing.
        self.keeps_tags = type(tracer) is not opentracing.Tracer

    def start_active(self, request, policy, name, parent):
        """Start the server span of ``request`` and make it active."""
        if not self.keeps_tags:
            return self.tracer.start_active_span(name, child_of=parent, finish_on_close=False)
        return self.tracer.start_active_span(
            name, child_of=parent, tags=start_tags(request, policy), finish_on_close=False)

    def operation_name(self, owner, request):
        return owner.operation_name(request)

    def tag_outcome(self, span, request, status_code, error, policy):
        """Tag the route, the status code and the error, if any."""
        route = getattr(request, 'matched_route', None)
        if route is not None:
            span.set_tag('pyramid.route', route.name)
        if status_code is not None:
            span.set_tag(tags.HTTP_STATUS_CODE, status_code)
        if error is not None:
            span.set_tag(tags.ERROR, True)
            span.log_kv(error_fields(error, policy))
        elif status_code is not None and status_code >= 500:
            span.set_tag(tags.ERROR, True)


def _force_deactivate(tracer, scope, span):
    """Close whatever the scope manager still holds active for our span."""
    try:
        for _ in range(2):
            active = tracer.scope_manager.active
            if active is None or (active is not scope and active.span is not span):
                return
            active.close()
    except Exception:
        pass  # nothing more can be done without the tracer's internals


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
