"""The package's modules import one another without a cycle: read from their
source (every import statement, at module level or inside a function), so
that a cycle hidden in a lazy import counts too."""
import ast

from .package_modules import modules, source_of

NAME = 'pyramid_opentracing'


def imported(name, path, known):
    """The modules of the package that module ``name`` (at ``path``) imports."""
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = source_of(node, name, path)
            for alias in node.names:
                # ``from . import tags`` imports a module, not a name of the package
                submodule = '%s.%s' % (source, alias.name)
                targets.add(submodule if submodule in known else source)
    return {target for target in targets if target in known and target != name}


def graph():
    known = modules()
    return {name: imported(name, path, known) for name, path in known.items()}


def cycle(edges):
    """One import cycle of ``edges`` as a list of names, or None."""
    state = {}

    def visit(node, trail):
        state[node] = 'open'
        for target in sorted(edges[node]):
            if state.get(target) == 'open':
                return trail[trail.index(target):] + [target]
            if target not in state:
                found = visit(target, trail + [target])
                if found:
                    return found
        state[node] = 'done'
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node, [node])
            if found:
                return found
    return None


def test_the_package_has_no_import_cycle():
    edges = graph()
    assert len(edges) > 20  # the walk found the package
    found = cycle(edges)
    assert found is None, ' -> '.join(found)


def test_the_walk_finds_a_cycle_where_there_is_one():
    assert cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c', 'a']
    assert cycle({'a': {'b'}, 'b': set()}) is None


def test_the_request_lifecycle_does_not_import_opentelemetry():
    edges = graph()
    reached, todo = set(), [NAME + '.lifecycle']
    while todo:
        module = todo.pop()
        if module not in reached:
            reached.add(module)
            todo.extend(edges[module])
    assert not [module for module in reached if module.startswith(NAME + '.otel')]
