"""What shape does few-shot accuracy take over the synthetic zoo? A quick look with scikit-learn.

This is not the pipeline (``repalign.transfer`` runs the paper's heads); it is the check
behind the numbers in docs/theory.md. Run from the repository root:

    PYTHONPATH=src OMP_NUM_THREADS=1 python docs/scripts/zoo_fewshot_check.py

Heads on each model's features, ``shots`` examples per class, the rest for evaluation,
5 seeds:

* ``logreg``: scikit-learn's LogisticRegression with its defaults (C = 1), as in the paper;
* ``centroid``: nearest class centroid by cosine similarity;
* ``centroid_inv``: the same, but for a model whose measured triplet alignment with the
  teacher is below 1/2 it picks the *least* similar centroid: the student who knows it is
  anti-aligned and inverts, as Bob does in the game (Remark 3.10).
"""

import warnings

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.linear_model import LogisticRegression

from repalign import compare_many
from repalign.theory import make_zoo

warnings.filterwarnings("ignore")
SHOTS = (1, 5)
SEEDS = range(5)


def centroid_scores(x_train, y_train, x_test, classes):
    unit = lambda a: a / np.linalg.norm(a, axis=1, keepdims=True)  # noqa: E731
    cents = unit(np.stack([x_train[y_train == c].mean(0) for c in classes]))
    return unit(x_test) @ cents.T


def main():
    zoo = make_zoo(seed=0)
    align = compare_many(zoo.models, zoo.teacher, metrics="pearson,triplet", backend="numpy").merge(zoo.params, on="model")
    y = zoo.labels
    classes = np.unique(y)
    rows = []
    for _, m in align.iterrows():
        x = zoo.models[m.model].values
        for shots in SHOTS:
            acc = {"logreg": [], "centroid": [], "centroid_inv": []}
            for seed in SEEDS:
                rng = np.random.default_rng(seed)
                train = np.concatenate([rng.choice(np.flatnonzero(y == c), shots, replace=False) for c in classes])
                test = np.setdiff1d(np.arange(len(y)), train)
                acc["logreg"].append(LogisticRegression(max_iter=3000).fit(x[train], y[train]).score(x[test], y[test]))
                s = centroid_scores(x[train], y[train], x[test], classes)
                acc["centroid"].append(np.mean(classes[s.argmax(1)] == y[test]))
                pick = s.argmin(1) if m.triplet < 0.5 else s.argmax(1)
                acc["centroid_inv"].append(np.mean(classes[pick] == y[test]))
            rows.append({"model": m.model, "family": m.family, "triplet": m.triplet, "pearson": m.pearson, "shots": shots,
                         **{k: 100 * np.mean(v) for k, v in acc.items()}})
    df = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    bins = pd.cut(df.triplet, [0, 0.2, 0.4, 0.6, 0.8, 1.0])
    print("mean accuracy (%) by triplet-alignment bin (chance = 10%):")
    print(df.groupby([bins, "shots"], observed=True)[["logreg", "centroid", "centroid_inv"]].mean().round(1).to_string())
    print("\ncorrelations with accuracy (Pearson r):")
    for shots in SHOTS:
        d = df[df.shots == shots]
        z2 = ((d.triplet - d.triplet.mean()) / d.triplet.std()) ** 2
        for head in ("logreg", "centroid", "centroid_inv"):
            r_lin = stats.pearsonr(d.triplet, d[head])[0]
            r_z2 = stats.pearsonr(z2, d[head])[0]
            r_dist = stats.pearsonr((d.triplet - 0.5).abs(), d[head])[0]
            print(f"  {shots}-shot {head:12s} alignment {r_lin:+.2f}   z^2 {r_z2:+.2f}   |alignment - 1/2| {r_dist:+.2f}")


if __name__ == "__main__":
    main()
