"""Load the original ``pyramid_opentracing==1.0.0`` beside this package.

Both have the import name ``pyramid_opentracing``, so the original's sdist is
fetched with pip into ``benchmarks/.original/`` (git-ignored: its code is
never committed) and imported as ``pyramid_opentracing_1_0_0``.
"""
import importlib.util
import pathlib
import subprocess
import sys
import tarfile

VERSION = '1.0.0'
MODULE_NAME = 'pyramid_opentracing_1_0_0'
CACHE = pathlib.Path(__file__).resolve().parent / '.original'


def fetch(cache=CACHE):
    """The directory of the original's package, downloaded on first use."""
    package = cache / ('pyramid_opentracing-%s' % VERSION) / 'pyramid_opentracing'
    if package.is_dir():
        return package
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, '-m', 'pip', 'download', '-q', '--no-deps', '--no-binary', ':all:',
         '-d', str(cache), 'pyramid_opentracing==%s' % VERSION],
        check=True)
    sdist = cache / ('pyramid_opentracing-%s.tar.gz' % VERSION)
    with tarfile.open(sdist) as archive:
        safe = {'filter': 'data'} if hasattr(tarfile, 'data_filter') else {}
        archive.extractall(cache, **safe)
    return package


def load(cache=CACHE):
    """The original package, imported as ``pyramid_opentracing_1_0_0``."""
    if MODULE_NAME in sys.modules:
        return sys.modules[MODULE_NAME]
    package = fetch(cache)
    spec = importlib.util.spec_from_file_location(
        MODULE_NAME, package / '__init__.py', submodule_search_locations=[str(package)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE_NAME] = module
    spec.loader.exec_module(module)
    return module


def include_original(config, tracer):
    """Install the original's tween as its own ``includeme`` would, tracing with ``tracer``.

    Its ``includeme`` names the tween by the dotted name
    ``pyramid_opentracing.…``, which here is this package, so the tween is
    added under the name the original is loaded as.
    """
    from pyramid.tweens import INGRESS
    original = load()
    settings = config.registry.settings
    settings['ot.tracing'] = original.PyramidTracing(tracer)
    settings['ot.trace_all'] = True
    config.add_tween(MODULE_NAME + '.opentracing_tween_factory', under=INGRESS)
