"""The theory of Sucholutsky & Griffiths (2023), section 3 and appendix A, as code.

numpy/scipy (and pandas for tables) only; matplotlib is imported by the figure
functions when they are called. Logarithms are base 2 and information is in bits.

Closed forms (:mod:`.capacity`, :mod:`.adversarial`)
    :func:`binary_entropy`, :func:`capacity` (``C(eps) = 1 - H(eps)``),
    :func:`effective_flip_probability`, :func:`query_bound` (Lemma 3.7, Proposition 3.8),
    :func:`fano_query_bound` (the same with explicit constants), :func:`compare_students`
    (Theorem 3.9), :func:`expected_max_disagreement` (Theorem A.5, corrected) and
    :func:`expected_min_disagreement` (the formula as printed).
Quantities on representations (:mod:`.quantities`)
    :func:`triplet_misalignment` (``D_R``), :func:`stochastic_misalignment` (``D_P``),
    conversions to and from alignment, :func:`domain_shift_sensitivity` (Definition A.1).
Simulations
    :func:`play_bsc_game` / :func:`simulate_bsc_game` (the Alice/Bob game of
    Proposition 3.8), :func:`play_geometric_game` / :func:`simulate_geometric_game`
    (misalignment from distorted geometry), :func:`make_zoo` (a synthetic model zoo) and
    :func:`run_simulations`, which runs them all for the demo.
Figures (:mod:`.figures`)
    :func:`plot_capacity`, :func:`plot_game`, :func:`plot_geometry`.
"""

from __future__ import annotations

from .adversarial import expected_max_disagreement, expected_min_disagreement, simulate_max_disagreement
from .capacity import (
    StudentComparison,
    binary_entropy,
    capacity,
    compare_students,
    effective_flip_probability,
    fano_query_bound,
    query_bound,
)
from .figures import plot_capacity, plot_game, plot_geometry
from .game import (
    GameLayout,
    GameResult,
    QueryFit,
    codebook,
    fit_query_constant,
    make_layout,
    play_bsc_game,
    simulate_bsc_game,
)
from .geometry import (
    DISTORTIONS,
    GeometricResult,
    add_noise,
    distort,
    measure_geometric_eps,
    play_geometric_game,
    reverse_ranking,
    rotate_subspace,
    simulate_geometric_game,
)
from .quantities import (
    DomainShiftSensitivity,
    StochasticMisalignment,
    alignment_from_misalignment,
    channel_capacity_of,
    class_centroids,
    domain_shift_sensitivity,
    misalignment_from_alignment,
    stochastic_misalignment,
    triplet_misalignment,
)
from .simulate import MAIN_VARIANT, SimulationResults, run_simulations
from .zoo import SyntheticZoo, make_zoo

__all__ = [
    "DISTORTIONS",
    "MAIN_VARIANT",
    "DomainShiftSensitivity",
    "GameLayout",
    "GameResult",
    "GeometricResult",
    "QueryFit",
    "SimulationResults",
    "StochasticMisalignment",
    "StudentComparison",
    "SyntheticZoo",
    "add_noise",
    "alignment_from_misalignment",
    "binary_entropy",
    "capacity",
    "channel_capacity_of",
    "class_centroids",
    "codebook",
    "compare_students",
    "distort",
    "domain_shift_sensitivity",
    "effective_flip_probability",
    "expected_max_disagreement",
    "expected_min_disagreement",
    "fano_query_bound",
    "fit_query_constant",
    "make_layout",
    "make_zoo",
    "measure_geometric_eps",
    "misalignment_from_alignment",
    "play_bsc_game",
    "play_geometric_game",
    "plot_capacity",
    "plot_game",
    "plot_geometry",
    "query_bound",
    "reverse_ranking",
    "rotate_subspace",
    "run_simulations",
    "simulate_bsc_game",
    "simulate_geometric_game",
    "simulate_max_disagreement",
    "stochastic_misalignment",
    "triplet_misalignment",
]
