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


def test_samples_keep_the_newest_in_order_in_four_bytes_each():
    from vdeblur.stats import Samples, StageTimes

    s = Samples(keep=4)
    for x in range(1, 8):
        s.append(float(x))
    assert list(s) == [4.0, 5.0, 6.0, 7.0] and len(s) == 4
    assert s.values.itemsize == 4
    t = StageTimes(["decode"], keep=3)
    for ms in (1.0, 2.0, 3.0, 4.0):
        t.add("decode", ms)
    assert t.summary()["decode"]["count"] == 3 and t.summary()["decode"]["min"] == 2.0
