"""The package's modules and what their import statements name, read from source."""
import pathlib

import pyramid_opentracing

PACKAGE = pathlib.Path(pyramid_opentracing.__file__).parent


def modules():
    """{dotted name: path} of every module of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob('*.py')):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix('').parts)
        if parts[-1] == '__init__':
            parts.pop()
        found['.'.join(parts)] = path
    return found


def source_of(node, name, path):
    """The dotted module an ``ast.ImportFrom`` ``node`` of module ``name``
    (at ``path``) imports from, its relative level resolved."""
    if not node.level:
        return node.module
    package = name if path.name == '__init__.py' else name.rpartition('.')[0]
    base = package.split('.')
    base = base[:len(base) - node.level + 1]
    return '.'.join(base + ([node.module] if node.module else []))
