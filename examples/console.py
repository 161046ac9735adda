"""Print finished spans as indented trees, so a person can see how they nest.

Works with the spans of opentracing's MockTracer and of basictracer: both give
``operation_name``, ``context.trace_id``, ``context.span_id``, ``parent_id``
and ``tags``. A span whose parent is not among the spans given is a root.
"""

def describe(span):
    """One line for ``span``: name, ids, then its tags."""
    words = ['%s  [trace %x span %x]' % (
        span.operation_name, span.context.trace_id, span.context.span_id)]
    words += ['%s=%s' % item for item in span.tags.items()]
    return ' '.join(words)


def span_tree(spans):
    """Lines drawing ``spans`` as trees: each child indented under its parent."""
    spans = sorted(spans, key=lambda span: span.start_time)
    ids = {span.context.span_id for span in spans}
    children = {}
    for span in spans:
        parent = span.parent_id if span.parent_id in ids else None
        children.setdefault(parent, []).append(span)
    lines = []

    def draw(span, depth):
        lines.append('    ' * depth + ('`-- ' if depth else '') + describe(span))
        for child in children.get(span.context.span_id, ()):
            draw(child, depth + 1)

    for root in children.get(None, ()):
        draw(root, 0)
    return lines


def print_spans(title, spans):
    """Print ``title`` and the tree of ``spans`` under it."""
    print(title)
    for line in span_tree(spans) or ['(no spans)']:
        print('  ' + line)
    print()
