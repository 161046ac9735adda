"""Spans the application makes with the OpenTelemetry API, scrubbed on their
way out.

The bridge scrubs what goes on its own spans as it is set (see
:mod:`.shim`). A span a view starts with ``provider.get_tracer(...)``
on the bridge's provider, or that one of OpenTelemetry's library
instrumentations makes there, carries whatever it was given: a password in
a ``db.statement``, a token in an event. :class:`ScrubbingExporter` stands
in front of the exporter and hands it a scrubbed copy of each span of
another instrumentation scope, with the application's TagPolicy: its name,
attribute values, event names and attributes, link attributes and status
description, scrubbed and bounded as the bridge's own are, and the value of
every attribute whose name is secret replaced by the redaction marker.

With batched export it runs on the export thread, never on the request
path; with the console and memory exporters, which export each span as it
ends, it runs where the span ends.
"""
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.trace import Link, Status

from .semconv import SCOPE_NAME
from .shim import policy_of, scrubbed, scrubbed_key, span_name

__all__ = ['ScrubbingExporter']


class ScrubbingExporter(SpanExporter):
    """``exporter``, given every span not of the bridge's own scope
    scrubbed by the TagPolicy of ``policy_source`` (the BridgeTracer, set
    once it is made; the default policy until then)."""

    def __init__(self, exporter, policy_source=None):
        self.exporter = exporter
        self.policy_source = policy_source

    def export(self, spans):
        policy = policy_of(self.policy_source)
        return self.exporter.export([
            span if is_ours(span) and all_printable(span) else scrubbed_span(span, policy)
            for span in spans])

    def shutdown(self):
        self.exporter.shutdown()

    def force_flush(self, timeout_millis=30000):
        return self.exporter.force_flush(timeout_millis)


def all_printable(span):
    """Whether every text of ``span`` is printable, as the bridge writes its
    own: one the application set through the OpenTelemetry span itself
    (``get_span(request).unwrap()``) may hold a lone surrogate, which no
    exporter can encode (the whole batch would be lost)."""
    texts = [span.name]
    if span.status.description:
        texts.append(span.status.description)
    for attributes in [span.attributes] + [event.attributes for event in span.events]:
        for key, value in (attributes or {}).items():
            texts.append(key)
            if isinstance(value, str):
                texts.append(value)
    texts.extend(event.name for event in span.events)
    return all(text.isprintable() or '\n' in text and text.replace('\n', '').isprintable()
               for text in texts if isinstance(text, str))


def is_ours(span):
    """Whether ``span`` was made by the bridge, which scrubbed it already."""
    scope = span.instrumentation_scope
    return scope is not None and scope.name == SCOPE_NAME


def scrubbed_span(span, policy):
    """A copy of finished ``span`` with every text scrubbed by ``policy``."""
    status = span.status
    if status.description:
        status = Status(status.status_code, policy.text(status.description))
    return ReadableSpan(
        name=span_name(span.name, policy),
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=scrubbed_attributes(span.attributes, policy),
        events=tuple(Event(span_name(event.name, policy),
                           scrubbed_attributes(event.attributes, policy), event.timestamp)
                     for event in span.events),
        links=tuple(Link(link.context, scrubbed_attributes(link.attributes, policy))
                    for link in span.links),
        kind=span.kind,
        status=status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def scrubbed_attributes(attributes, policy):
    """``attributes`` with their values as :func:`~.shim.scrubbed`
    makes them, a sequence's texts one by one."""
    if not attributes:
        return attributes
    result = {}
    for key, value in attributes.items():
        if isinstance(value, (tuple, list)) and not policy.redactor.is_secret(key):
            value = tuple(scrubbed(item, policy) for item in value)
        else:
            value = scrubbed(value, policy, key)
        result[scrubbed_key(key, policy)] = value
    return result
