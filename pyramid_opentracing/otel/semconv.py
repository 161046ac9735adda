"""What the bridge's telemetry says about itself: its instrumentation scope,
the semantic-convention schema its attributes follow, and the old HTTP
attribute names (``OTEL_SEMCONV_STABILITY_OPT_IN=http/dup``) for dashboards
built before the HTTP conventions became stable.
"""
from importlib.metadata import PackageNotFoundError, version

__all__ = ['SCHEMA_URL', 'SCOPE_NAME', 'add_target', 'old_outcome_attributes',
           'old_server_attributes', 'package_version']

SCOPE_NAME = 'pyramid_opentracing'

#: The stable HTTP semantic conventions, as OpenTelemetry's own HTTP
#: instrumentations declare them.
SCHEMA_URL = 'https://opentelemetry.io/schemas/1.21.0'


def package_version():
    try:
        return version('pyramid_opentracing')
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return None


#: The old name of each stable server-span attribute whose meaning is the same.
_OLD_NAMES = (
    ('url.scheme', 'http.scheme'),
    ('server.address', 'net.host.name'),
    ('server.port', 'net.host.port'),
    ('user_agent.original', 'http.user_agent'),
    ('client.address', 'net.peer.ip'),
    ('network.protocol.version', 'http.flavor'),
)


def old_server_attributes(attributes):
    """The old HTTP attributes of a server span that has the stable
    ``attributes``: the method as the stable attribute has it (``_OTHER``
    for one semantic conventions do not know, as OpenTelemetry's own
    instrumentations write it: a client inventing methods would otherwise
    add a metric series per method), the target (path and the query if it is
    traced) and the renamed ones."""
    old = {'http.method': attributes['http.request.method']}
    add_target(old, attributes)
    for stable, name in _OLD_NAMES:
        value = attributes.get(stable)
        if value is not None:
            old[name] = value
    return old


def old_outcome_attributes(status_code, attributes):
    """``attributes`` (set at the end of a request) with their old names
    beside them: the status code, and ``http.target`` when the URL is set
    at the end (an application with a secret route placeholder)."""
    if status_code is not None:
        attributes['http.status_code'] = status_code
    add_target(attributes, attributes)
    return attributes


def add_target(old, attributes):
    """Put in ``old`` the ``http.target`` of the stable ``attributes``, if
    they have a ``url.path``: the path and the query, if it is traced."""
    path = attributes.get('url.path')
    if path is not None:
        query = attributes.get('url.query')
        old['http.target'] = path if query is None else '%s?%s' % (path, query)
