"""Instructions per request, counted by valgrind: the overhead targets as
they stand whatever else loads the host.

Run from the repository root (valgrind must be installed: ``apt-get
install valgrind``; about 20 minutes for the default variants)::

    python -m benchmarks.instructions                  # plain and plain+parent
    python -m benchmarks.instructions --scenario json ours/mock floor/mock

Each variant of ``benchmarks/overhead.py`` runs in a process of its own
under cachegrind, twice: 200 and 1,200 requests after the same warm-up, with
``PYTHONHASHSEED=0`` and address randomisation off (``setarch -R``). The
difference, divided by 1,000, is what one request costs, set-up and warm-up
left out. The ratios of the targets follow.
"""
import argparse
import os
import platform
import re
import shutil
import subprocess
import sys

from . import overhead

DEFAULT_VARIANTS = [
    'untraced', 'ours/noop', 'original-1.0.0/noop', 'ours/mock', 'original-1.0.0/mock',
    'ours/otel', 'ours/otel+metrics', 'otel-instrumentation-pyramid']

_REFS = re.compile(r'I\s+refs:\s+([\d,]+)')


def run_requests(name, scenario, count):
    """In the child process: build the variant, warm it up, serve ``count`` requests."""
    path, parent = {s: (p, w) for s, p, w in overhead.SCENARIOS}[scenario]
    rows, tracers = overhead.build_variants()
    instrument = {row[0]: row[2] for row in rows}[name]
    call = overhead.make_caller(overhead.variants.make_app(instrument), path, parent)
    call(300)
    call(count)
    tracers['mock'].reset()


def instructions(name, scenario, count):
    """The instructions a child serving ``count`` requests executes in all."""
    command = ['valgrind', '--tool=cachegrind', '--cache-sim=no',
               '--cachegrind-out-file=/dev/null', sys.executable, '-m', 'benchmarks.instructions',
               '--run', name, scenario, str(count)]
    if shutil.which('setarch'):
        # the same addresses every run: where objects land moves the count by 0.5%
        command = ['setarch', platform.machine(), '-R'] + command
    result = subprocess.run(command, capture_output=True, text=True, check=True,
                            env=dict(os.environ, PYTHONHASHSEED='0'))
    return int(_REFS.search(result.stderr).group(1).replace(',', ''))


def per_request(name, scenario):
    return (instructions(name, scenario, 1200) - instructions(name, scenario, 200)) // 1000


def report(scenario, variants):
    counts = {name: per_request(name, scenario) for name in variants}
    base = counts.get('untraced', 0)
    over = {name: count - base for name, count in counts.items()}
    print('%s: instructions per request (over the untraced app)' % scenario)
    for name in variants:
        print('  %-32s %9d %9d' % (name, counts[name], over[name]))

    def ratio(a, b):
        if a in over and b in over and over[b]:
            print('  %-32s %9.3f' % ('%s / %s' % (a, b), over[a] / over[b]))
    for label, name, limit_of in overhead.TARGETS:
        if name in over:
            print('  %-60s %9d' % (label, over[name]))
    ratio('ours/noop', 'original-1.0.0/noop')
    ratio('ours/mock', 'original-1.0.0/mock')
    ratio('ours/otel', 'otel-instrumentation-pyramid')
    ratio('ours/otel+metrics', 'otel-instrumentation-pyramid')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--scenario', action='append', choices=[s for s, _, _ in overhead.SCENARIOS])
    parser.add_argument('--run', nargs=3, metavar=('VARIANT', 'SCENARIO', 'COUNT'),
                        help=argparse.SUPPRESS)
    parser.add_argument('variants', nargs='*')
    args = parser.parse_args(argv)
    if args.run:
        name, scenario, count = args.run
        run_requests(name, scenario, int(count))
        return 0
    variants = args.variants or DEFAULT_VARIANTS
    if 'untraced' not in variants:
        variants = ['untraced'] + variants
    for scenario in args.scenario or ['plain', 'plain+parent']:
        report(scenario, variants)
    return 0


if __name__ == '__main__':
    sys.exit(main())
