"""Request and response headers recorded on the server span.

Chosen by ``ot.captured_request_headers`` / ``ot.captured_response_headers``
(or OpenTelemetry's ``OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_*``):
regular expressions that must match a whole header name, case-insensitively,
as OpenTelemetry's instrumentations match them. A header ``X-Request-ID`` is
recorded as ``http.request.header.x_request_id``: lower case, ``-`` written
``_``, the names OpenTelemetry's Python instrumentations give, so that
dashboards built on them keep working.

Values go through the span's redaction: a header whose name the redactor
calls secret (``Authorization``, ``Cookie``, ``Set-Cookie``, ``ot.redacted_headers``,
any name containing ``token``...) or that a pattern of
``OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SANITIZE_FIELDS`` finds is recorded
as ``[REDACTED]``; credentials and secret query values in a URL-valued
header are removed, and so are the values filling secret placeholders of
the request's route (a ``Referer`` or ``Location`` quoting ``/reset/{token}``);
every value is bounded like any tag.
"""
import re

from .redaction import REDACTED
from .urls import url_text
from .selection import matcher

#: At most this many headers are captured from a request, and from a
#: response: a client sending hundreds of matching headers would otherwise
#: choose how many attributes the span has (the SDK then drops its others).
MAX_CAPTURED = 32

#: Request headers that WSGI keeps without the ``HTTP_`` prefix.
_UNPREFIXED = {'CONTENT_TYPE': 'content-type', 'CONTENT_LENGTH': 'content-length'}


def header_name(environ_key):
    """``x-request-id`` for ``HTTP_X_REQUEST_ID``, or None for an environ key
    that is not a header."""
    if environ_key.startswith('HTTP_'):
        return environ_key[5:].replace('_', '-').lower()
    return _UNPREFIXED.get(environ_key)


def attribute_key(name):
    """``x_request_id`` for header ``X-Request-ID``: OpenTelemetry's normalised name."""
    return name.lower().replace('-', '_')


class CapturedHeaders:
    """Reads the captured headers of a request and of its response.

    ``request_patterns`` and ``response_patterns`` choose the headers,
    ``sanitized_patterns`` add names whose values are secret (found anywhere
    in the name, as OpenTelemetry does).
    """

    def __init__(self, request_patterns=(), response_patterns=(), sanitized_patterns=()):
        self._request = (matcher(request_patterns, 'fullmatch', re.IGNORECASE)
                         if request_patterns else None)
        self._response = (matcher(response_patterns, 'fullmatch', re.IGNORECASE)
                          if response_patterns else None)
        self._sanitized = (matcher(sanitized_patterns, 'search', re.IGNORECASE)
                           if sanitized_patterns else None)

    @property
    def captures_request(self):
        return self._request is not None

    @property
    def captures_response(self):
        return self._response is not None

    def request_values(self, environ, policy, path_secrets=()):
        """{attribute key: value} of the captured request headers in
        ``environ`` (only if :attr:`captures_request`), without the
        request's ``path_secrets``."""
        wanted = self._request
        values = {}
        for key, value in environ.items():
            name = header_name(key)
            if name is not None and len(name) <= policy.max_tag_length and wanted(name):
                key = 'http.request.header.' + attribute_key(name)
                values[key] = self._value(name, value, policy, path_secrets)
                if len(values) == MAX_CAPTURED:
                    break
        return values

    def response_values(self, headerlist, policy, path_secrets=()):
        """{attribute key: value} of the captured headers in a response's
        ``headerlist`` (only if :attr:`captures_response`), without the
        request's ``path_secrets``; a repeated header's values joined with
        ``,``, as OpenTelemetry does."""
        wanted = self._response
        joined = {}
        for name, value in headerlist:
            name = name.lower()
            if name in joined:
                joined[name] = joined[name] + ',' + value
            elif (len(joined) < MAX_CAPTURED and len(name) <= policy.max_tag_length
                  and wanted(name)):
                joined[name] = value
        return {'http.response.header.' + attribute_key(name):
                self._value(name, value, policy, path_secrets)
                for name, value in joined.items()}

    def _value(self, name, value, policy, path_secrets):
        """``value`` of header ``name`` as it may be recorded: scrubbed as a
        URL of the request is, since it may be one."""
        if policy.redactor.is_secret(name) or (
                self._sanitized is not None and self._sanitized(name)):
            return REDACTED
        return url_text(value, policy, path_secrets)
