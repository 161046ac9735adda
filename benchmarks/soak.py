"""Memory soak: many requests through the tween; RSS must stay flat.

Run from the repository root::

    python -m benchmarks.soak               # 200,000 requests, about a minute

Sends the requests (with and without a caller's trace context, to the plain
and the JSON view) to the benchmark app traced by this package with
basictracer (which drops finished spans), reports the growth of the resident
set after a warm-up (target: within 2 MB), and checks that nothing of a
request is left afterwards: no live span, no active scope.
"""
import argparse
import gc
import sys

from webob import Request

from basictracer.span import BasicSpan

from . import variants


def rss_kib():
    with open('/proc/self/status') as status:
        for line in status:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    raise RuntimeError('no VmRSS in /proc/self/status')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--requests', type=int, default=200_000)
    args = parser.parse_args(argv)
    tracer = variants.basic_tracer()
    app = variants.make_app(variants.ours(tracer))
    environs = [Request.blank(path, headers=headers).environ
                for path in ('/plain', '/json')
                for headers in ({}, variants.PARENT_HEADERS)]

    def start_response(status, headers, exc_info=None):
        pass

    def send(count):
        for i in range(count):
            body = app(dict(environs[i % len(environs)]), start_response)
            for _chunk in body:
                pass
            getattr(body, 'close', lambda: None)()

    warmup = min(20_000, args.requests // 10)
    send(warmup)
    gc.collect()
    before = rss_kib()
    send(args.requests)
    gc.collect()
    growth = (rss_kib() - before) / 1024
    live = sum(1 for obj in gc.get_objects() if isinstance(obj, BasicSpan))
    active = tracer.scope_manager.active
    print('%d requests after %d warm-up ones: RSS %+.2f MB (target within 2 MB); '
          '%d spans alive, active scope %r' % (args.requests, warmup, growth, live, active))
    ok = abs(growth) <= 2 and live == 0 and active is None
    print('PASS' if ok else 'FAIL')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
