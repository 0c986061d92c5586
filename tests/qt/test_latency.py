"""The latency probe runs against the real window (its figures are for the benchmark, not
asserted here): it must keep working as the window changes."""

from attnstudio.qt.latency import measure_edit_latency


def test_edit_latency_measures_every_edit_at_each_size(qtbot):
    (small, larger) = measure_edit_latency(sizes=(8, 40), edits=3)
    assert (small.n, larger.n) == (8, 40) and small.edits == larger.edits == 3
    for r in (small, larger):
        assert 0 < r.compute_median_ms <= r.median_ms <= r.p90_ms
