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

The span strategy of the tracer makes the span (an OpenTelemetry CLIENT span
with the bridge). The calls of a request the application chose not to trace
(the request given, else the one served on the thread) are not traced
either, and send no trace context. Tracing never breaks the call: if the
tracer fails, the request is sent untraced and the failure is logged once on
the ``pyramid_opentracing`` logger. Request headers never become tags, so
Authorization and Cookie stay out.
"""
import logging
import urllib.error
import urllib.request
import weakref
from contextlib import contextmanager
from types import ModuleType
from typing import (IO, TYPE_CHECKING, Any, Dict, Iterable, Iterator, List, Mapping,
                    MutableMapping, Optional, Union, cast)

import opentracing
from pyramid.threadlocal import get_current_request

from .headers import BAGGAGE_ENTRY_PREFIXES
from .lifecycle import ENVIRON_KEY
from .scrub import url_secrets
from .selection import marked_excluded
from .tracer import PyramidTracer, _global_pyramid_tracer, pyramid_tracer_of, strategy_for

if TYPE_CHECKING:
    import requests
    from pyramid.request import Request

    from .tracer import SpanStrategy

#: What outgoing calls are traced for: the Pyramid request of the view making
#: them, a PyramidTracer, any OpenTracing tracer, or None for the global tracer.
Target = Union['Request', PyramidTracer, opentracing.Tracer, None]

__all__ = ['ClientCall', 'client_span', 'outgoing_headers', 'http_request', 'traced_session',
           'TracingAdapter', 'urlopen', 'bound_baggage', 'BaggageOverLimits',
           'MAX_BAGGAGE_ENTRIES', 'MAX_BAGGAGE_BYTES']

#: The span strategy of each plain OpenTracing tracer outgoing calls were
#: made with, made on the first call. Its PyramidTracer is the global one:
#: the default tag policy, and one failure log, so that a tracer failing on
#: every call is reported once.
_plain_strategies: 'weakref.WeakKeyDictionary[object, SpanStrategy]' = (
    weakref.WeakKeyDictionary())


def strategy_for_target(target: Target) -> 'SpanStrategy':
    """The span strategy outgoing calls for ``target`` are made with (see
    :func:`client_span`): the PyramidTracer's (a request's is its
    registry's), or for a plain OpenTracing tracer, one on the global
    PyramidTracer."""
    if isinstance(target, PyramidTracer):
        return target.server_span_strategy()
    if target is None:
        return _global_pyramid_tracer.server_span_strategy()
    if getattr(target, 'registry', None) is not None:
        return pyramid_tracer_of(target).server_span_strategy()
    try:
        return _plain_strategies[target]
    except KeyError:
        pass
    except TypeError:  # a tracer that cannot be weakly referenced
        return strategy_for(_global_pyramid_tracer, target)
    strategy = _plain_strategies[target] = strategy_for(_global_pyramid_tracer, target)
    return strategy


def _parent(tracer: opentracing.Tracer, target: Target) -> Optional[opentracing.Span]:
    """The span the call is made from: the active one, else the request's."""
    active = tracer.active_span
    if active is not None:
        return active
    environ = getattr(target, 'environ', None)
    return None if environ is None else environ.get(ENVIRON_KEY)  # the request's server span


class ClientCall:
    """One outgoing request: its span (or None) and the headers to send."""

    __slots__ = ('strategy', 'span', 'headers', 'status_code', 'error', 'url')

    def __init__(self, strategy: 'SpanStrategy', span: Optional[opentracing.Span],
                 headers: Dict[str, str], url: str = '') -> None:
        self.strategy = strategy
        self.url = url  # as given: its secrets are removed from error messages
        self.span = span
        self.headers = headers
        self.status_code: Optional[int] = None
        self.error: Optional[BaseException] = None

    def set_status(self, status_code: int) -> None:
        """Record the status code of the response."""
        self.status_code = status_code


@contextmanager
def client_span(method: str, url: str, target: Target = None,
                headers: Optional[Mapping[str, str]] = None,
                name: Optional[str] = None) -> Iterator[ClientCall]:
    """Trace one outgoing request made with any HTTP client.

    Yields a :class:`ClientCall`: send ``call.headers`` (``headers`` plus the
    trace context) with the request, and call ``call.set_status(code)`` with
    the response's status. An exception leaving the block marks the span as
    an error. ``target`` is the Pyramid request, a PyramidTracer, an
    OpenTracing tracer, or None for the global tracer. The span is named
    after the method unless given a ``name``.
    """
    headers = dict(headers or {})
    call = start_call(target, method, url, headers, name)
    try:
        yield call
    except BaseException as exc:
        if call.status_code is None:  # else it is about the status (urllib's HTTPError)
            call.error = exc
        raise
    finally:
        finish_call(call)


def is_excluded_request(target: Target) -> bool:
    """Whether the calls are made for a request the application chose not to
    trace (``ot.excluded_paths``, ``ot.should_trace``...): ``target``, else
    the request being served on this thread. They are not traced either,
    rather than each starting a trace of its own."""
    environ = getattr(target, 'environ', None)
    if environ is None:
        request = get_current_request()
        environ = getattr(request, 'environ', None)
    return isinstance(environ, dict) and marked_excluded(environ)


def start_call(target: Target, method: str, url: str, headers: Dict[str, str],
               name: Optional[str] = None) -> ClientCall:
    """A ClientCall with a started CLIENT span and its context in ``headers``
    (no span, and the headers as they are, for an excluded request)."""
    strategy = strategy_for_target(target)
    if is_excluded_request(target):
        return ClientCall(strategy, None, headers)
    policy = strategy.pyramid_tracer.policy
    safe_url = policy.text(url)
    try:
        span = strategy.start_client(
            _parent(strategy.tracer, target), policy.text(method.upper()), safe_url,
            None if name is None else policy.text(name))
    except Exception as exc:
        strategy.report('starting a client span', exc, 'the outgoing request is sent untraced')
        return ClientCall(strategy, None, headers)
    inject(strategy, span.context, headers)
    return ClientCall(strategy, span, headers, url)


def finish_call(call: ClientCall) -> None:
    """Tag the outcome of ``call`` and finish its span."""
    if call.span is None:
        return
    strategy = call.strategy
    try:
        known = () if call.error is None else url_secrets(
            call.url, strategy.pyramid_tracer.policy.redactor.is_secret)
        strategy.finish_client(call.span, call.status_code, call.error, known)
    except Exception as exc:
        strategy.report('tagging a client span', exc, 'its tags may be incomplete')
    try:
        call.span.finish()
    except Exception as exc:
        strategy.report('finishing a client span', exc, 'the span may be lost')


def outgoing_headers(target: Target = None,
                     headers: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """``headers`` (a new dict) plus the active span's trace context, for a
    request made with any client; no span is started."""
    strategy = strategy_for_target(target)
    headers = dict(headers or {})
    if is_excluded_request(target):
        return headers
    try:
        parent = _parent(strategy.tracer, target)
    except Exception as exc:
        strategy.report('finding the span of an outgoing request', exc,
                        'the next service starts a new trace')
        return headers
    if parent is not None:
        inject(strategy, parent.context, headers)
    return headers


def inject(strategy: 'SpanStrategy', span_context: opentracing.SpanContext,
           headers: Dict[str, str]) -> None:
    """Write ``span_context`` into ``headers``, its baggage within the W3C
    limits; a failure is reported, not raised."""
    try:
        strategy.tracer.inject(span_context, opentracing.Format.HTTP_HEADERS, headers)
        dropped = bound_baggage(headers)
    except Exception as exc:
        strategy.report('injecting the trace context into an outgoing request',
                        exc, 'the next service starts a new trace')
        return
    if dropped:
        strategy.report(
            'sending baggage to the next service', BaggageOverLimits(dropped),
            'the entries past the limits are not sent', level=logging.WARNING)


# -- baggage limits -----------------------------------------------------------

#: The W3C Baggage limits, applied to what each outgoing request carries: a
#: caller sending more would make every service it reaches send more too,
#: until one answers 431.
MAX_BAGGAGE_ENTRIES = 64
MAX_BAGGAGE_BYTES = 8192


class BaggageOverLimits(Exception):
    """The baggage of an outgoing request was over the W3C limits."""


class _BaggageBudget:
    """What is left of the limits in one header format, counted as a W3C
    ``baggage`` header would be."""

    def __init__(self) -> None:
        self.entries = 0
        self.bytes = 0
        self.dropped: List[str] = []

    def take(self, key: str, size: int) -> bool:
        """Whether an entry of ``size`` bytes (``key=value``) still fits."""
        size += 1 if self.entries else 0  # the comma before it
        if self.entries < MAX_BAGGAGE_ENTRIES and self.bytes + size <= MAX_BAGGAGE_BYTES:
            self.entries += 1
            self.bytes += size
            return True
        self.dropped.append(key)
        return False


def bound_baggage(headers: MutableMapping[str, str]) -> Optional[str]:
    """Drop the baggage entries of ``headers`` past the W3C limits, keeping
    the first ones; a text saying what was dropped, or None.

    The limits apply to each header format alone (the ``baggage`` header,
    ``ot-baggage-*`` headers, ``uberctx-*`` headers): the propagators write
    the same entries in the same order in each, so each format carries the
    same first entries, and a service reading any one of them gets them.
    """
    budgets: Dict[str, _BaggageBudget] = {}
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
        elif lower.startswith(BAGGAGE_ENTRY_PREFIXES):
            prefix = next(each for each in BAGGAGE_ENTRY_PREFIXES if lower.startswith(each))
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


# -- requests -----------------------------------------------------------------

try:
    from requests.adapters import HTTPAdapter
except ImportError:  # requests is optional: only its helpers need it
    HTTPAdapter = object  # type: ignore[misc,assignment]


def import_requests() -> ModuleType:
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

    def __init__(self, target: Target = None, **kwargs: Any) -> None:
        import_requests()
        self.target = target
        super().__init__(**kwargs)

    def send(self, request: 'requests.PreparedRequest',  # type: ignore[override]
             **kwargs: Any) -> 'requests.Response':
        # a request being sent has its method and URL; its headers (text, or
        # bytes passed through as they are) are sent with the trace context
        with client_span(cast(str, request.method), cast(str, request.url), self.target,
                         cast(Mapping[str, str], request.headers)) as call:
            request.headers.update(call.headers)
            response = super().send(request, **kwargs)
            call.set_status(response.status_code)
            return response


def traced_session(target: Target = None,
                   session: Optional['requests.Session'] = None) -> 'requests.Session':
    """``session`` (a new requests Session by default) tracing all its requests."""
    requests = import_requests()
    session = requests.Session() if session is None else session
    adapter = TracingAdapter(target)
    session.mount('http://', adapter)
    session.mount('https://', adapter)
    return session


def http_request(request: 'Request', method: str, url: str,
                 session: Optional['requests.Session'] = None,
                 **kwargs: Any) -> 'requests.Response':
    """Make a traced HTTP request with ``requests`` from the view of ``request``.

    ``kwargs`` are those of ``requests.request``. With a ``session`` of
    your own, only this call is traced.
    """
    requests: Any = import_requests() if session is None else None
    with client_span(method, url, request, kwargs.pop('headers', None)) as call:
        if session is None:
            response = requests.request(method, url, headers=call.headers, **kwargs)
        else:
            response = session.request(method, url, headers=call.headers, **kwargs)
        call.set_status(response.status_code)
        return response


# -- urllib.request -----------------------------------------------------------

def urlopen(url: Union[str, urllib.request.Request],
            data: Union[bytes, IO[bytes], Iterable[bytes], None] = None,
            target: Target = None, opener: Optional[urllib.request.OpenerDirector] = None,
            name: Optional[str] = None, **kwargs: Any) -> Any:
    """``urllib.request.urlopen`` traced: ``url`` is a URL or a Request.

    ``target`` is the Pyramid request (or as for :func:`client_span`);
    ``name`` names the span (default: the method); ``kwargs`` go to
    ``urlopen`` (``timeout``, ``context``). An HTTPError
    response is traced with its status code and raised as usual.
    """
    if isinstance(url, urllib.request.Request):
        url_request = url
        if data is not None:
            url_request.data = data
    else:
        url_request = urllib.request.Request(url, data)
    method = url_request.get_method()
    with client_span(method, url_request.full_url, target, name=name) as call:
        for header, value in call.headers.items():
            url_request.add_unredirected_header(header, value)
        open_url = urllib.request.urlopen if opener is None else opener.open
        try:
            response = open_url(url_request, **kwargs)
        except urllib.error.HTTPError as exc:
            call.set_status(exc.code)
            raise
        call.set_status(response.status)
        return response
