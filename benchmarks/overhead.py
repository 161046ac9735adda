"""How much pyramid_opentracing adds to a request, against the floor and others.

Run from the repository root::

    python -m benchmarks.overhead            # about 2 minutes on 2 cores
    python -m benchmarks.overhead --quick    # a smoke run

Every variant is the same Pyramid app called directly as a WSGI app in this
one process; variants run in interleaved rounds (A B C ... A B C ...) so that
drift in the machine's speed hits them all alike. Each variant's time is its
fastest round (as ``timeit`` advises: other processes only ever slow a round
down, so the fastest is the closest to the code's own cost; the garbage
collector runs as usual). The table gives that time in µs per request, the
overhead over the untraced app's and that overhead as a ratio of the floor's
(same tracer). The targets are checked at the end, each with PASS or FAIL;
the exit status is 1 if any fails.
"""
import argparse
import gc
import platform
import sys
import time

from webob import Request

from . import variants

SCENARIOS = [
    ('json', '/json', False),
    ('json+parent', '/json', True),
    ('plain', '/plain', False),
    ('plain+parent', '/plain', True),
]


#: The variant with five excluded-path patterns, compared with ours/noop.
EXCLUSION = 'ours+5 excluded paths/noop'

#: The variant with ``ot.trace_internals``, compared with ours/mock, and the
#: internal spans it makes in each scenario (the view, the json renderer's,
#: the excview tween's).
INTERNALS = 'ours/mock+internals'
INTERNAL_SPANS = {'json': 3, 'json+parent': 3, 'plain': 2, 'plain+parent': 2}


def build_variants():
    """[(name, tracer kind, instrument)] in the order they run in each round."""
    tracers = {kind: make() for kind, make in variants.TRACERS.items()}
    rows = [('untraced', None, None)]
    for kind, tracer in tracers.items():
        rows.append(('ours/%s' % kind, kind, variants.ours(tracer)))
        rows.append(('floor/%s' % kind, kind, variants.floor(tracer)))
    # the cost of choosing which requests are traced: the same tracer, five
    # excluded-path patterns (the no-op tracer, whose own cost is least noisy)
    rows.append((EXCLUSION, 'noop', variants.ours(
        tracers['noop'], **{'ot.excluded_paths': variants.EXCLUDED_PATHS})))
    rows.append(('original-1.0.0/noop', 'noop', variants.original(tracers['noop'])))
    rows.append(('original-1.0.0/mock', 'mock', variants.original(tracers['mock'])))
    rows.append((INTERNALS, 'mock', variants.ours(
        tracers['mock'], **{'ot.trace_internals': variants.TRACED_INTERNALS})))
    rows.append(('ours/otel+metrics', 'otel',
                 variants.ours(variants.otel_bridge_tracer_with_metrics())))
    rows.append(('sdk-minimum/otel', 'otel', variants.sdk_minimum(tracers['otel'])))
    rows.append(('otel-instrumentation-pyramid', 'otel', variants.otel_instrumentation()))
    return rows, tracers


def make_caller(app, path, parent):
    """A function that sends ``count`` requests to ``app`` and reads each body."""
    template = Request.blank(path, headers=variants.PARENT_HEADERS if parent else {}).environ

    def start_response(status, headers, exc_info=None):
        if not status.startswith('200'):
            raise AssertionError('%s answered %s' % (path, status))

    def call(count):
        for _ in range(count):
            body = app(dict(template), start_response)
            for _chunk in body:
                pass
            close = getattr(body, 'close', None)
            if close is not None:
                close()
    return call


def time_block(call, count, reset):
    reset()
    gc.collect()
    start = time.perf_counter()
    call(count)
    return (time.perf_counter() - start) / count * 1e6


def run(rounds, per_block, warmup):
    rows, tracers = build_variants()
    mock = tracers['mock']
    results = {}
    for scenario, path, parent in SCENARIOS:
        callers = []
        for name, kind, instrument in rows:
            app = variants.make_app(instrument)
            call = make_caller(app, path, parent)
            reset = mock.reset if kind == 'mock' else (lambda: None)
            call(warmup)
            callers.append((name, kind, call, reset))
        times = {name: [] for name, *_ in callers}
        for _ in range(rounds):
            for name, _kind, call, reset in callers:
                times[name].append(time_block(call, per_block, reset))
        mock.reset()
        results[scenario] = times
        print('.', end='', file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return rows, results


def summarise(times):
    """{name: (fastest µs, overhead µs over the untraced app's fastest)} for one scenario."""
    base = min(times['untraced'])
    return {name: (min(t), min(t) - base) for name, t in times.items()}


def report(rows, results, args):
    kinds = {name: kind for name, kind, _ in rows}
    print('pyramid_opentracing overhead: %d rounds x %d requests per variant and scenario'
          % (args.rounds, args.requests))
    print('machine: %s, %s, Python %s, %s' % (
        platform.processor() or platform.machine(), cpu_name(), platform.python_version(),
        platform.system()))
    print('OTel tracer: %s\n' % variants.otel_bridge_tracer()[1])
    summaries = {scenario: summarise(times) for scenario, times in results.items()}
    header = '%-30s' % 'variant' + ''.join('%24s' % s for s in summaries)
    print(header)
    print('%-30s' % '' + '%24s' % 'µs/req  +µs  x floor' * len(summaries))
    for name, _kind, _ in rows:
        cells = []
        for summary in summaries.values():
            fastest, overhead = summary[name]
            floor = summary.get('floor/%s' % kinds[name])
            # a ratio to an overhead under 1 µs (the no-op tracer's) says nothing
            ratio = ('%5.2f' % (overhead / floor[1])) if floor and name != 'untraced' and floor[1] >= 1 else '    -'
            cells.append('%9.1f %6.1f %6s' % (fastest, overhead, ratio))
        print('%-30s' % name + ''.join('%24s' % c for c in cells))
    print()
    failures = check_targets(summaries)
    print('\n%s' % ('all targets hold' if not failures else '%d target(s) missed' % failures))
    return failures


#: The targets: (label, variant, limit as a function of the scenario's
#: summary and name).
TARGETS = (
    ('ours/noop overhead <= 0.3 x original 1.0.0 (no-op)', 'ours/noop',
     lambda s, _: 0.3 * s['original-1.0.0/noop'][1]),
    ('ours/mock overhead <= 1.0 x original 1.0.0 (MockTracer)', 'ours/mock',
     lambda s, _: 1.0 * s['original-1.0.0/mock'][1]),
    ('ours/otel overhead <= 0.40 x otel-instrumentation-pyramid', 'ours/otel',
     lambda s, _: 0.40 * s['otel-instrumentation-pyramid'][1]),
    # both recording the HTTP server metrics
    ('ours/otel+metrics overhead <= 0.40 x otel-instrumentation-pyramid', 'ours/otel+metrics',
     lambda s, _: 0.40 * s['otel-instrumentation-pyramid'][1]),
    # each internal span: at most 1.2 x the tracer's own span (its floor) + 2 µs
    ('ours/mock+internals <= ours/mock + n x (1.2 x floor/mock + 2 µs)', INTERNALS,
     lambda s, scenario: s['ours/mock'][1] + INTERNAL_SPANS[scenario] * (
         1.2 * s['floor/mock'][1] + 2)),
)


def check_targets(summaries):
    """Print each target of each scenario with PASS or FAIL; how many failed."""
    failures = 0
    for scenario, s in summaries.items():
        for label, name, limit_of in TARGETS:
            value, limit = s[name][1], limit_of(s, scenario)
            ok = value <= limit
            failures += not ok
            print('%-4s %-13s %-62s %6.2f µs <= %6.2f µs' % (
                'PASS' if ok else 'FAIL', scenario, label, value, limit))
    return failures


def cpu_name():
    try:
        with open('/proc/cpuinfo') as cpuinfo:
            for line in cpuinfo:
                if line.startswith('model name'):
                    name = line.split(':', 1)[1].strip()
                    break
            else:
                name = '?'
        import os
        return '%s x %d' % (name, os.cpu_count())
    except OSError:
        return platform.machine()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--rounds', type=int, default=21)
    parser.add_argument('--requests', type=int, default=300, help='requests per block')
    parser.add_argument('--quick', action='store_true', help='3 rounds of 50: a smoke run')
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.requests = 3, 50
    rows, results = run(args.rounds, args.requests, warmup=min(200, args.requests))
    return 1 if report(rows, results, args) else 0


if __name__ == '__main__':
    sys.exit(main())
