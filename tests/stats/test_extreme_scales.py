"""Statistics at extreme scales: the scale-free numbers agree, the rest is finite or refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from repalign import InputError
from repalign.stats import correlation, quadratic_regression, two_lines

SCALES = [(1.0, 1.0), (1e150, 1.0), (1.0, 1e300), (1e-300, 1.0), (1.0, 1e-300), (1e300, 1e300), (1e-300, 1e-300)]


@pytest.fixture
def u_data():
    rng = np.random.default_rng(0)
    x = rng.random(40)
    return x, (x - 0.5) ** 2 + 0.05 * rng.normal(size=40), rng.random(40)


@pytest.mark.parametrize("sx, sy", SCALES)
def test_quadratic_and_two_lines(u_data, sx, sy):
    x, y, c = u_data
    plain = pd.DataFrame({"x": x, "y": y, "c": c})
    scaled = pd.DataFrame({"x": x * sx, "y": y * sy, "c": c})
    ref_q, ref_t = quadratic_regression(plain, "x", "y").iloc[0], two_lines(plain, "x", "y").iloc[0]
    try:
        q = quadratic_regression(scaled, "x", "y").iloc[0]
    except InputError as exc:  # b2 scales as y / x^2: refused when it leaves float64, never inf or 0
        assert "do not fit in float64" in str(exc)
    else:
        assert q["t"] == pytest.approx(ref_q["t"], rel=1e-9) and q["p_val"] == pytest.approx(ref_q["p_val"], rel=1e-6)
        assert q["b2"] == pytest.approx(ref_q["b2"] * (sy / sx) / sx, rel=1e-9)
        assert q["vertex"] == pytest.approx(ref_q["vertex"] * sx, rel=1e-9)
    t = two_lines(scaled, "x", "y").iloc[0]
    assert t["u_shape"] == ref_t["u_shape"]
    for key in ("z1", "z2", "p1", "p2"):
        assert t[key] == pytest.approx(ref_t[key], rel=1e-6), key
    assert t["breakpoint"] == pytest.approx(ref_t["breakpoint"] * sx, rel=1e-9)
    r = correlation(scaled, "x", "y", covariates="c").iloc[0]
    r0 = correlation(plain, "x", "y", covariates="c").iloc[0]
    assert r["r"] == pytest.approx(r0["r"], abs=1e-12) and -1 <= r["ci_low"] <= r["ci_high"] <= 1
