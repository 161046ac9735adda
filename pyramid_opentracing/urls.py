"""The request's URL as a span shows it: the Host rule, the path and the URL.

A URL is built only from what is a host (a crafted ``Host`` does not make
it), its path percent-encoded as the client sent it, and shown scrubbed,
bounded and without the values of secret route placeholders.
"""
import functools
import ipaddress
import re
from urllib.parse import quote

from .route_secrets import PATH_SAFE, path_redacted

__all__ = ['DEFAULT_PORTS', 'PLAIN_PATH', 'UNKNOWN_HOST', 'host_secrets', 'host_url', 'http_url',
           'is_host', 'is_port', 'request_host', 'request_path', 'request_path_url', 'split_host',
           'url_host', 'url_text']




#: A path of only the characters percent-encoding leaves as they are (the
#: unreserved ones and :data:`PATH_SAFE`): it is its own encoding.
PLAIN_PATH = re.compile(r"[A-Za-z0-9/._~!$&'()*+,;=:@-]*")


def request_path(environ):
    """The path of the request, percent-encoded as the client sent it: what
    webob's ``request.path`` gives, also for bytes that are not UTF-8 (which
    any client can send, and on which webob raises)."""
    path = environ.get('SCRIPT_NAME', '') + environ.get('PATH_INFO', '')
    if PLAIN_PATH.fullmatch(path):
        return path
    try:
        raw = path.encode('latin-1')  # WSGI's native strings carry the bytes so
    except UnicodeEncodeError:
        raw = path.encode('utf-8')  # a test harness's path
    return quote(raw, safe=PATH_SAFE)


#: A DNS name: labels of letters, digits, ``-`` and ``_`` (not starting nor
#: ending with ``-``, 63 characters at most) between single dots, with an
#: optional trailing dot. A name whose last label is all digits is an IPv4
#: address or nothing (see :func:`is_host`).
DNS_NAME = re.compile(r'(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*'
                      r'[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?')

#: An IPv6 literal in brackets, with an optional zone (``%25`` and the
#: zone's name, as RFC 6874 writes it in a URL).
IPV6_LITERAL = re.compile(r'\[(?P<address>[0-9A-Fa-f:.]{2,45})(?:%25(?P<zone>[A-Za-z0-9_.~-]{1,64}))?\]')

#: The longest host name DNS allows: a longer ``Host`` is no host.
MAX_HOST_LENGTH = 253


def is_host(name):
    """Whether ``name`` is a host: a DNS name, an IPv4 address or an IPv6
    literal in brackets. Never ``%`` but in an IPv6 zone, never a blank."""
    if len(name) > MAX_HOST_LENGTH + 1 or not name.isascii():
        return False
    if name.startswith('['):
        literal = IPV6_LITERAL.fullmatch(name)
        return literal is not None and _is_address(literal.group('address'), ipaddress.IPv6Address)
    if DNS_NAME.fullmatch(name) is None or len(name.rstrip('.')) > MAX_HOST_LENGTH:
        return False
    last_label = name.rstrip('.').rpartition('.')[2]
    return not last_label.isdigit() or _is_address(name.rstrip('.'), ipaddress.IPv4Address)


def _is_address(text, kind):
    try:
        kind(text)
    except ValueError:
        return False
    return True


def is_port(text):
    """Whether ``text`` is a TCP port number, 0 to 65535, written as a
    number is (``80``, never ``0080`` nor ``+80``)."""
    return (text.isascii() and text.isdigit() and len(text) <= 5 and int(text) <= 65535
            and (text == '0' or text[0] != '0'))


def split_host(host):
    """(name, port text or None) of a ``Host`` header value; IPv6 literals too."""
    name, sep, port = host.rpartition(':')
    if not sep or ']' in port:
        return host, None
    return name, port


#: The port a URL of each scheme leaves out.
DEFAULT_PORTS = {'http': '80', 'https': '443'}


@functools.lru_cache(maxsize=256)
def url_host(host):
    """(name, port text or None) of a ``Host`` header value, user info left
    out, for a URL; None when it is no host name or address with a port or
    none. Cached: a server sees few distinct Hosts (and the cache is bounded
    against a client sending many)."""
    name, port = split_host(host.rpartition('@')[2])
    if is_host(name) and (port is None or is_port(port)):
        return name, port
    return None


#: The host a URL names when neither the ``Host`` header nor ``SERVER_NAME``
#: is one (a name reserved never to be one).
UNKNOWN_HOST = 'unknown.invalid'


def request_host(environ):
    """(name, port text or None) the request was sent to: the ``Host``
    header's when it is a host (see :func:`url_host`), else ``SERVER_NAME``
    and ``SERVER_PORT``'s when they are one (some servers copy them from the
    client's ``Host`` too: gunicorn on a unix socket), else None."""
    host = environ.get('HTTP_HOST')
    named = url_host(host) if host else None
    if named is None:
        server = environ.get('SERVER_NAME') or ''
        port = environ.get('SERVER_PORT')
        named = url_host('%s:%s' % (server, port) if port else server) if server else None
    return named


def host_url(environ):
    """``scheme://host[:port]`` of the request, as webob's ``request.host_url``,
    but only from a host (see :func:`request_host`): a crafted ``Host`` does
    not make the URL."""
    scheme = environ['wsgi.url_scheme']
    named = request_host(environ)
    if named is None:
        return scheme + '://' + UNKNOWN_HOST
    name, port = named
    if port and port != DEFAULT_PORTS.get(scheme):
        return scheme + '://' + name + ':' + port
    return scheme + '://' + name


def request_path_url(request):
    """``request.path_url``, for any bytes in the path (see :func:`request_path`),
    and for a crafted ``Host`` (see :func:`host_url`)."""
    environ = request.environ
    if 'wsgi.url_scheme' not in environ:  # pyramid.testing.DummyRequest: its own host_url
        return request.host_url + request_path(environ)
    return host_url(environ) + request_path(environ)


def http_url(request, policy, path_secrets=()):
    """The request URL for the ``http.url`` tag.

    Without the query string unless ``policy.trace_query_string``; scrubbed
    (no user info, secret query values and path segments redacted); bounded.
    """
    url = request_path_url(request)
    if policy.trace_query_string:
        query = request.environ.get('QUERY_STRING')
        if query:
            url = url + '?' + policy.redactor.query(query)
    return url_text(url, policy, path_secrets)


def url_text(text, policy, path_secrets=()):
    """A URL of the request or a part of it (its path, its query, a header
    quoting it: ``Referer``, ``Location``) as a span may show it: scrubbed,
    bounded, and without the request's ``path_secrets`` (the values filling
    secret route placeholders, see :meth:`TagPolicy.path_secrets`), whether
    a whole segment or anywhere else (``?next=/reset/T``)."""
    if path_secrets:
        text = path_redacted(text, path_secrets)
    return policy.text(text, path_secrets)


_HOST_USERINFO_CUTS = re.compile('[:@]')


def host_secrets(request):
    """The user and password of user info in the request's ``Host``
    header, which webob's ``host_port`` and ``domain`` quote without a
    URL's shape (``PW@example.com``); none for a Host without ``@``."""
    host = request.environ.get('HTTP_HOST')
    if not host or '@' not in host:
        return ()
    return tuple(piece for piece in _HOST_USERINFO_CUTS.split(host.rpartition('@')[0]) if piece)
