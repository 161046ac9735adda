"""Trace the HTTP requests a view makes to other services.

Each outgoing request gets a CLIENT span, child of the span active in the
view, tagged with the method, the URL (without credentials, secret query
values redacted), the status code and the error, and its trace context is
injected into the request headers so the next service continues the trace.

* ``requests``: :func:`http_request` for one call, :func:`traced_session` or
  :class:`TracingAdapter` for a session of your own.
* ``urllib.request``: :func:`urlopen`.
* any other client: :func:`client_span` (a span and the headers to send), or
  :func:`outgoing_headers` (only the headers, no span).

Tracing never breaks the call: if the tracer fails, the request is sent
untraced and the failure is logged once on the ``pyramid_opentracing`` logger.
Request headers never become tags, so Authorization and Cookie stay out.
"""
import logging
import weakref
from contextlib import contextmanager

import opentracing
from opentracing.ext import tags

from . import _global_pyramid_tracer, pyramid_tracer_of
from .tags import error_fields
from .tracer import is_otel_shim
from .scrub import url_secrets
from .selection import marked_excluded
from .tracer import PyramidTracer

#: The PyramidTracer of each plain OpenTracing tracer outgoing calls were
#: made with, made on the first call; they share one failure log, so that a
#: tracer failing on every call is reported once.
_plain_pyramid_tracers = weakref.WeakKeyDictionary()


def pyramid_tracer_for(target):
    """The PyramidTracer for ``target``: a Pyramid request (its registry's),
    a PyramidTracer, an OpenTracing tracer, or None (the global tracer)."""
    if isinstance(target, PyramidTracer):
        return target
    if target is None:
        return _global_pyramid_tracer
    if getattr(target, 'registry', None) is not None:
        return pyramid_tracer_of(target)
    try:
        return _plain_pyramid_tracers[target]
    except KeyError:
        pass
    except TypeError:  # a tracer that cannot be weakly referenced
        return _shared_failures(PyramidTracer(target))
    pyramid_tracer = _plain_pyramid_tracers[target] = _shared_failures(PyramidTracer(target))
    return pyramid_tracer


def _shared_failures(pyramid_tracer):
    pyramid_tracer.failures = _global_pyramid_tracer.failures
    return pyramid_tracer


def _parent(tracer, target):
    """The span the call is made from: the active one, else the request's."""
    active = tracer.active_span
    if active is not None:
        return active
    environ = getattr(target, 'environ', None)
    if environ is not None:
        from . import get_span
        return get_span(target)
    return None


class ClientCall:
    """One outgoing request: its span (or None) and the headers to send."""

    __slots__ = ('pyramid_tracer', 'span', 'headers', 'status_code', 'error', 'url', '_finish')

    def __init__(self, pyramid_tracer, span, headers, finish, url=''):
        self.pyramid_tracer = pyramid_tracer
        self.url = url  # as given: its secrets are removed from error messages
        self.span = span
        self.headers = headers
        self.status_code = None
        self.error = None
        self._finish = finish

    def set_status(self, status_code):
        """Record the status code of the response."""
        self.status_code = status_code


@contextmanager
def client_span(method, url, target=None, headers=None, name=None):
    """Trace one outgoing request made with any HTTP client.

    Yields a :class:`ClientCall`: send ``call.headers`` (``headers`` plus the
    trace context) with the request, and call ``call.set_status(code)`` with
    the response's status. An exception leaving the block marks the span as
    an error. ``target`` is the Pyramid request, a PyramidTracer, an
    OpenTracing tracer, or None for the global tracer. The span is named
    after the method unless given a ``name``.
    """
    pyramid_tracer = pyramid_tracer_for(target)
    headers = dict(headers or {})
    call = start_call(pyramid_tracer, target, method, url, headers, name)
    try:
        yield call
    except BaseException as exc:
        if call.status_code is None:  # else it is about the status (urllib's HTTPError)
            call.error = exc
        raise
    finally:
        finish_call(call)


def is_excluded_request(target):
    """Whether ``target`` is a request the application chose not to trace
    (``ot.excluded_paths``, ``ot.should_trace``...): the calls it makes are
    not traced either, rather than each starting a trace of its own."""
    environ = getattr(target, 'environ', None)
    return isinstance(environ, dict) and marked_excluded(environ)


def start_call(pyramid_tracer, target, method, url, headers, name=None):
    """A ClientCall with a started CLIENT span and its context in ``headers``
    (no span, and the headers as they are, for an excluded request)."""
    if is_excluded_request(target):
        return ClientCall(pyramid_tracer, None, headers, None)
    policy = pyramid_tracer.policy
    safe_url = policy.text(url)
    try:
        tracer = pyramid_tracer.tracer
        span, finish = _client_spans(tracer).start(
            tracer, _parent(tracer, target), policy.text(method.upper()), safe_url,
            None if name is None else policy.text(name))
    except Exception as exc:
        pyramid_tracer.failures.report('starting a client span', exc, 'the outgoing request is sent untraced')
        return ClientCall(pyramid_tracer, None, headers, None)
    inject(pyramid_tracer, tracer, span.context, headers)
    return ClientCall(pyramid_tracer, span, headers, finish, url)


def finish_call(call):
    """Tag the outcome of ``call`` and finish its span."""
    if call.span is None:
        return
    try:
        known = () if call.error is None else url_secrets(
            call.url, call.pyramid_tracer.policy.redactor.is_secret)
        call._finish(call.span, call.status_code, call.error, call.pyramid_tracer, known)
    except Exception as exc:
        call.pyramid_tracer.failures.report('tagging a client span', exc, 'its tags may be incomplete')
    try:
        call.span.finish()
    except Exception as exc:
        call.pyramid_tracer.failures.report('finishing a client span', exc, 'the span may be lost')


def outgoing_headers(target=None, headers=None):
    """``headers`` (a new dict) plus the active span's trace context, for a
    request made with any client; no span is started."""
    pyramid_tracer = pyramid_tracer_for(target)
    headers = dict(headers or {})
    if is_excluded_request(target):
        return headers
    try:
        tracer = pyramid_tracer.tracer
        parent = _parent(tracer, target)
    except Exception as exc:
        pyramid_tracer.failures.report('finding the span of an outgoing request', exc,
                              'the next service starts a new trace')
        return headers
    if parent is not None:
        inject(pyramid_tracer, tracer, parent.context, headers)
    return headers


def inject(pyramid_tracer, tracer, span_context, headers):
    """Write ``span_context`` into ``headers``, its baggage within the W3C
    limits; a failure is reported, not raised."""
    try:
        tracer.inject(span_context, opentracing.Format.HTTP_HEADERS, headers)
        dropped = bound_baggage(headers)
    except Exception as exc:
        pyramid_tracer.failures.report('injecting the trace context into an outgoing request',
                                       exc, 'the next service starts a new trace')
        return
    if dropped:
        pyramid_tracer.failures.report(
            'sending baggage to the next service', BaggageOverLimits(dropped),
            'the entries past the limits are not sent', level=logging.WARNING)


# -- baggage limits -----------------------------------------------------------

#: The W3C Baggage limits, applied to what each outgoing request carries: a
#: caller sending more would make every service it reaches send more too,
#: until one answers 431.
MAX_BAGGAGE_ENTRIES = 64
MAX_BAGGAGE_BYTES = 8192

#: Headers carrying one baggage entry each: OpenTracing's, Jaeger's.
BAGGAGE_HEADER_PREFIXES = ('ot-baggage-', 'uberctx-')


class BaggageOverLimits(Exception):
    """The baggage of an outgoing request was over the W3C limits."""


class _BaggageBudget:
    """What is left of the limits in one header format, counted as a W3C
    ``baggage`` header would be."""

    def __init__(self):
        self.entries = 0
        self.bytes = 0
        self.dropped = []

    def take(self, key, size):
        """Whether an entry of ``size`` bytes (``key=value``) still fits."""
        size += 1 if self.entries else 0  # the comma before it
        if self.entries < MAX_BAGGAGE_ENTRIES and self.bytes + size <= MAX_BAGGAGE_BYTES:
            self.entries += 1
            self.bytes += size
            return True
        self.dropped.append(key)
        return False


def bound_baggage(headers):
    """Drop the baggage entries of ``headers`` past the W3C limits, keeping
    the first ones; a text saying what was dropped, or None.

    The limits apply to each header format alone (the ``baggage`` header,
    ``ot-baggage-*`` headers, ``uberctx-*`` headers): the propagators write
    the same entries in the same order in each, so each format carries the
    same first entries, and a service reading any one of them gets them.
    """
    budgets = {}
    for name in list(headers):
        lower = name.lower()
        if lower == 'baggage':
            budget = budgets.setdefault('baggage', _BaggageBudget())
            kept = [entry for entry in (e.strip() for e in headers[name].split(','))
                    if entry and budget.take(entry.partition('=')[0], len(entry.encode()))]
            if kept:
                headers[name] = ','.join(kept)
            else:
                del headers[name]
        elif lower.startswith(BAGGAGE_HEADER_PREFIXES):
            prefix = next(each for each in BAGGAGE_HEADER_PREFIXES if lower.startswith(each))
            budget = budgets.setdefault(prefix + '*', _BaggageBudget())
            key = lower[len(prefix):]
            if not budget.take(key, len(key.encode()) + 1 + len(headers[name].encode())):
                del headers[name]
    dropped = [(header, budget.dropped) for header, budget in budgets.items() if budget.dropped]
    if not dropped:
        return None
    return 'baggage entries past the limits (%d entries, %d bytes) were not sent: %s' % (
        MAX_BAGGAGE_ENTRIES, MAX_BAGGAGE_BYTES, '; '.join(
            '%d in %s (%s)' % (len(keys), header, ', '.join(key[:40] for key in keys[:10])
                               + (', ...' if len(keys) > 10 else ''))
            for header, keys in dropped))


class _OpenTracingClientSpans:
    """CLIENT spans through the OpenTracing API."""

    @staticmethod
    def start(tracer, parent, method, url, name=None):
        span = tracer.start_span(name or method, child_of=parent, tags={
            tags.SPAN_KIND: tags.SPAN_KIND_RPC_CLIENT,
            tags.HTTP_METHOD: method,
            tags.HTTP_URL: url,
        })
        return span, _OpenTracingClientSpans.finish

    @staticmethod
    def finish(span, status_code, error, pyramid_tracer, known):
        if status_code is not None:
            span.set_tag(tags.HTTP_STATUS_CODE, status_code)
        if error is not None:
            span.set_tag(tags.ERROR, True)
            span.log_kv(error_fields(error, pyramid_tracer.policy, known))
        elif status_code is not None and status_code >= 400:
            span.set_tag(tags.ERROR, True)


class _OtelClientSpans:
    """Real OpenTelemetry CLIENT spans behind the shim."""

    @staticmethod
    def start(tracer, parent, method, url, name=None):
        from .otel.spans import client_attributes, start_client_span
        span = start_client_span(tracer, parent, method, url, client_attributes(url), name)
        return span, _OtelClientSpans.finish

    @staticmethod
    def finish(span, status_code, error, pyramid_tracer, known):
        from .otel.spans import tag_client_outcome
        tag_client_outcome(span, status_code, error, pyramid_tracer.policy, known)


def _client_spans(tracer):
    return _OtelClientSpans if is_otel_shim(tracer) else _OpenTracingClientSpans


# -- requests -----------------------------------------------------------------

try:
    from requests.adapters import HTTPAdapter
except ImportError:  # requests is optional: only its helpers need it
    HTTPAdapter = object


def import_requests():
    """The ``requests`` module, or an ImportError saying how to install it."""
    try:
        import requests
    except ImportError as exc:
        raise ImportError('pyramid_opentracing.outgoing needs requests for this helper '
                          '(pip install requests); urlopen needs nothing', name='requests') from exc
    return requests


class TracingAdapter(HTTPAdapter):
    """A requests transport adapter that traces every request it sends.

    ``target`` is what :func:`client_span` takes; with None, the global
    OpenTracing tracer. Mount it on a session for ``http://`` and
    ``https://``, or use :func:`traced_session`. Each send (a retry, a
    redirect) is a span of its own.
    """

    def __init__(self, target=None, **kwargs):
        import_requests()
        self.target = target
        super().__init__(**kwargs)

    def send(self, request, **kwargs):
        with client_span(request.method, request.url, self.target, request.headers) as call:
            request.headers.update(call.headers)
            response = super().send(request, **kwargs)
            call.set_status(response.status_code)
            return response


def traced_session(target=None, session=None):
    """``session`` (a new requests Session by default) tracing all its requests."""
    requests = import_requests()
    session = requests.Session() if session is None else session
    adapter = TracingAdapter(target)
    session.mount('http://', adapter)
    session.mount('https://', adapter)
    return session


def http_request(request, method, url, session=None, **kwargs):
    """Make a traced HTTP request with ``requests`` from the view of ``request``.

    ``kwargs`` are those of ``requests.request``. With a ``session`` of
    your own, only this call is traced.
    """
    requests = import_requests() if session is None else None
    with client_span(method, url, request, kwargs.pop('headers', None)) as call:
        if session is None:
            response = requests.request(method, url, headers=call.headers, **kwargs)
        else:
            response = session.request(method, url, headers=call.headers, **kwargs)
        call.set_status(response.status_code)
        return response


# -- urllib.request -----------------------------------------------------------

def urlopen(url, data=None, target=None, opener=None, name=None, **kwargs):
    """``urllib.request.urlopen`` traced: ``url`` is a URL or a Request.

    ``target`` is the Pyramid request (or as for :func:`client_span`);
    ``name`` names the span (default: the method); ``kwargs`` go to
    ``urlopen`` (``timeout``, ``context``). An HTTPError
    response is traced with its status code and raised as usual.
    """
    import urllib.error
    http_request_obj = url if isinstance(url, urllib.request.Request) else urllib.request.Request(url, data)
    if data is not None and isinstance(url, urllib.request.Request):
        http_request_obj.data = data
    method = http_request_obj.get_method()
    with client_span(method, http_request_obj.full_url, target, name=name) as call:
        for name, value in call.headers.items():
            http_request_obj.add_unredirected_header(name, value)
        open_url = urllib.request.urlopen if opener is None else opener.open
        try:
            response = open_url(http_request_obj, **kwargs)
        except urllib.error.HTTPError as exc:
            call.set_status(exc.code)
            raise
        call.set_status(response.status)
        return response
