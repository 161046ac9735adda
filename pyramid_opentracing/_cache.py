"""A small dict with a size bound: the one cache of per-request verdicts.

Names, texts and keys seen on requests repeat (a browser's headers, a
route's placeholders), so what was worked out for one is kept for the next.
What a client sends is unbounded, so the cache is too small to grow without
limit: once full, it keeps what it holds and new keys are worked out each
time, which keeps every lookup a single ``dict.get`` and never evicts an
entry another thread is reading.
"""

__all__ = ['BoundedCache']


class BoundedCache(dict):
    """A ``dict`` that stores at most ``limit`` entries through :meth:`set`.

    ``cache.get(key)`` is ``dict.get``; ``cache.set(key, value)`` stores
    ``value`` while there is room and returns it either way, so a miss
    reads ``value = cache.get(key); if value is None: value =
    cache.set(key, work(key))``. Values must not be ``None``.
    """

    __slots__ = ('limit',)

    def __init__(self, limit):
        super().__init__()
        self.limit = limit

    def set(self, key, value):
        """Store ``value`` under ``key`` if the cache has room; return ``value``."""
        if len(self) < self.limit:
            self[key] = value
        return value
