"""Report tracing failures without flooding the log.

A broken tracer fails on every request. Logging each failure would bury the
application's own log, so the first failure of a kind is logged with its
traceback and the repeats within ``interval`` seconds are only counted; the
next report after the interval says how many were left out.
"""
import logging
import time

logger = logging.getLogger('pyramid_opentracing')

#: At most this many distinct kinds of failure are remembered; past it the
#: memory is reset, so a stream of ever-new exception types cannot grow it.
MAX_KINDS = 256


class FailureLog:
    """Logs tracing failures on the ``pyramid_opentracing`` logger, rate-limited."""

    def __init__(self, interval=60.0, clock=time.monotonic, log=logger):
        self.interval = interval
        self._clock = clock
        self._log = log
        self._seen = {}  # (operation, exception type) -> [logged at, repeats]

    def report(self, operation, exc, consequence, level=logging.ERROR):
        """Log that ``operation`` raised ``exc``, unless it was logged lately.

        ``consequence`` tells the reader what happened to the request, for
        example "the request is served untraced".
        """
        key = (operation, type(exc))
        now = self._clock()
        entry = self._seen.get(key)
        if entry is not None and now - entry[0] < self.interval:
            entry[1] += 1
            return
        if len(self._seen) >= MAX_KINDS:
            self._seen.clear()
        repeats = entry[1] if entry is not None else 0
        self._seen[key] = [now, 0]
        message = 'pyramid_opentracing: %s failed (%s: %s); %s.'
        args = [operation, type(exc).__name__, exc, consequence]
        if repeats:
            message += ' %d more such failures were not logged in the last %d s.'
            args += [repeats, self.interval]
        self._log.log(level, message, *args, exc_info=(type(exc), exc, exc.__traceback__))
