"""The real-data table says why a domain has no noise ceiling."""

from __future__ import annotations

import numpy as np
import pandas as pd

from repalign.report.extras import real_section


def test_a_missing_ceiling_is_explained_in_the_caption():
    real = pd.DataFrame({
        "model": ["efficientnet-lite:lite0"] * 2, "domain": ["animals", "fruits"], "n_stimuli": [120, 120],
        "pearson": [0.636, 0.589], "ceiling_lower_pearson": [0.913, np.nan], "ceiling_upper_pearson": [0.978, np.nan],
    })
    section = real_section(real)
    _, caption, cells, _ = section.tables[0]
    assert cells["pearson ceiling"].tolist() == ["0.913–0.978", "–"]
    assert "no ceiling for fruits" in caption and "split-half" in caption
    both = real.assign(ceiling_lower_pearson=[0.9, 0.8], ceiling_upper_pearson=[0.95, 0.9])
    assert "no ceiling" not in real_section(both).tables[0][1]
