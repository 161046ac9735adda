"""Report tracing failures without flooding the log.

A broken tracer fails on every request, a dead collector on every export.
Logging each failure would bury the application's own log, so one
:class:`RateLimiter` lets the first of a kind through and only counts the
repeats within ``interval`` seconds; the next line after the interval says
how many were left out. :class:`FailureLog` reports our own failures through
it, :class:`RateLimitFilter` the log records of other packages.
"""
import logging
import time

from .scrub import safe_stack, safe_text, text_of

__all__ = ['MAX_KINDS', 'MAX_MESSAGE', 'MAX_STACK', 'FailureLog', 'RateLimitFilter',
           'RateLimiter', 'logger', 'rate_limit_logs']

logger = logging.getLogger('pyramid_opentracing')

#: At most this many distinct kinds are remembered; past it the memory is
#: reset, so a stream of ever-new kinds cannot grow it. (Reset, not a cache
#: that stops storing when full: a kind never stored would be let through
#: every time.)
MAX_KINDS = 256

#: The longest exception message and traceback a line shows.
MAX_MESSAGE = 1024
MAX_STACK = 8192


class RateLimiter:
    """Lets the first event of each kind through, then one per ``interval``
    seconds, counting those held back in between."""

    def __init__(self, interval=60.0, clock=time.monotonic):
        self.interval = interval
        self._clock = clock
        self._seen = {}  # kind -> [let through at, held back since]

    def admit(self, kind):
        """``None`` if this event of ``kind`` is held back, else how many
        were held back since the last one let through."""
        now = self._clock()
        entry = self._seen.get(kind)
        if entry is not None and now - entry[0] < self.interval:
            entry[1] += 1
            return None
        if len(self._seen) >= MAX_KINDS:
            self._seen.clear()
        self._seen[kind] = [now, 0]
        return entry[1] if entry is not None else 0


class FailureLog:
    """Logs tracing failures on the ``pyramid_opentracing`` logger, rate-limited."""

    def __init__(self, interval=60.0, clock=time.monotonic, log=logger):
        self.limiter = RateLimiter(interval, clock)
        self._log = log

    @property
    def interval(self):
        """Seconds within which repeats of a failure are only counted."""
        return self.limiter.interval

    def report(self, operation, exc, consequence, level=logging.ERROR):
        """Log that ``operation`` raised ``exc``, unless it was logged lately.

        ``consequence`` tells the reader what happened to the request, for
        example "the request is served untraced".
        """
        repeats = self.limiter.admit((operation, type(exc)))
        if repeats is None:
            return
        message = 'pyramid_opentracing: %s failed (%s: %s); %s.'
        args = [operation, type(exc).__name__, safe_text(text_of(exc), MAX_MESSAGE), consequence]
        if repeats:
            message += ' %d more such failures were not logged in the last %d s.'
            args += [repeats, self.interval]
        self._write(level, message, args, exc)

    def _write(self, level, message, args, exc):
        """Log ``message`` with the traceback of ``exc``, scrubbed: the record
        keeps ``exc_info`` for handlers that want the exception, and its
        ``exc_text``, which formatters print instead of formatting the
        traceback anew, is the scrubbed one."""
        log = self._log
        if not log.isEnabledFor(level):
            return
        record = log.makeRecord(log.name, level, __file__, 0, message, tuple(args),
                                (type(exc), exc, exc.__traceback__))
        record.exc_text = safe_stack(exc, MAX_STACK).rstrip('\n')
        log.handle(record)


class RateLimitFilter(logging.Filter):
    """Lets the first record of each message through, then one per
    ``interval`` seconds, saying how many were left out in between; the
    message it lets through is scrubbed and bounded.

    For the loggers of other packages: the OpenTelemetry exporters, which
    log every failed export (with a dead collector, one line per batch), and
    the propagators, which log every malformed header of every request with
    the header in it. With ``hide_arguments``, for the latter, the values
    in the message are left out: they come from the client, and a secret
    among them (``baggage: password=...``) cannot always be told by its name.
    """

    def __init__(self, interval=60.0, clock=time.monotonic, hide_arguments=False):
        super().__init__()
        self.limiter = RateLimiter(interval, clock)
        self.hide_arguments = hide_arguments

    @property
    def interval(self):
        """Seconds within which repeats of a message are only counted."""
        return self.limiter.interval

    def filter(self, record):
        repeats = self.limiter.admit((record.name, str(record.msg)))
        if repeats is None:
            return False
        message = self._message(record)
        if repeats:
            message = '%s (%d more such messages were not logged in the last %d s)' % (
                message, repeats, self.interval)
        record.msg, record.args = message, ()
        return True

    def _message(self, record):
        if self.hide_arguments and record.args:
            arguments = record.args if isinstance(record.args, tuple) else (record.args,)
            try:
                message = str(record.msg) % (('[value not logged]',) * len(arguments))
            except (TypeError, ValueError, KeyError):
                message = str(record.msg)
        else:
            message = record.getMessage()
        return safe_text(message, MAX_MESSAGE)


def rate_limit_logs(names, interval=60.0, hide_arguments=False):
    """Rate-limit the loggers ``names`` (once per logger and process)."""
    for name in names:
        log = logging.getLogger(name)
        if not any(isinstance(each, RateLimitFilter) for each in log.filters):
            log.addFilter(RateLimitFilter(interval, hide_arguments=hide_arguments))
