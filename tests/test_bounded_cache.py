"""The one bounded cache: a dict that stops storing when full."""
from pyramid_opentracing._cache import BoundedCache
from pyramid_opentracing import redaction, scrub


def test_it_stores_up_to_its_limit_and_returns_the_value_either_way():
    cache = BoundedCache(2)
    assert cache.set('a', 1) == 1 and cache.set('b', 2) == 2
    assert cache.set('c', 3) == 3
    assert cache.get('a') == 1 and cache.get('b') == 2 and cache.get('c') is None
    assert len(cache) == 2


def test_a_stored_value_is_kept_when_the_cache_is_full():
    cache = BoundedCache(1)
    cache.set('a', 1)
    cache.set('b', 2)
    assert cache.get('a') == 1


def test_the_scrubbers_caches_are_bounded_caches():
    redactor = redaction.Redactor()
    assert isinstance(scrub._verdicts, BoundedCache)
    assert isinstance(redactor._verdicts, BoundedCache)
    assert isinstance(redactor._texts, BoundedCache)
    for index in range(redactor._texts.limit + 10):
        redactor.bounded('text %d' % index, 100)
    assert len(redactor._texts) == redactor._texts.limit
