import math

from vdeblur.stats import median, percentile, summarize


def test_percentile_follows_trtexec():
    s = [float(i) for i in range(1, 101)]   # 1..100
    assert percentile(s, 99) == 99.0
    assert percentile(s, 90) == 90.0
    assert percentile(s, 50) == 50.0
    assert percentile(s, 100) == 100.0
    assert percentile([3.0], 99) == 3.0
    assert math.isnan(percentile([], 50))


def test_median_and_cv():
    assert median([1.0, 2.0, 3.0, 10.0]) == 2.5
    r = summarize([2.0, 2.0, 2.0])
    assert r["cv"] == 0 and r["mean"] == 2.0 and r["p99"] == 2.0
    r = summarize([1.0, 3.0])
    assert abs(r["cv"] - 0.5) < 1e-12
