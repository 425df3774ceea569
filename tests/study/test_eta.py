"""The ETA of the ``[k/n] done`` lines with parallel tasks: units run in waves of at most
``parallel`` at once, so two units left on a 32-task SLURM array still take one unit's time
(the line said 'ETA 5 s for 2 more (mean 85.3 s a unit)')."""

from __future__ import annotations

from repalign.study.runner import _Eta, format_eta


def test_eta_counts_waves_of_parallel_units():
    eta = _Eta(total=3, parallel=32)
    eta.add(85.3)
    assert eta.text(1).startswith(f"; ETA {format_eta(85.3)} for 2 more")
    many = _Eta(total=101, parallel=32)
    many.add(60.0)
    assert many.text(1).startswith(f"; ETA {format_eta(4 * 60.0)} for 100 more")  # 100 units: 4 waves of 32
    one = _Eta(total=4, parallel=1)
    one.add(10.0)
    assert one.text(1).startswith(f"; ETA {format_eta(30.0)} for 3 more")
