"""Reference values for the THINGS tests, computed one trial at a time in plain Python.

Run from the repository root:  python tests/reference/things_reference.py
It reads ../shared/data/things and prints the SPoSE odd-one-out accuracy (dot product, the
item outside the most similar pair is predicted odd) and the noise ceiling of the test
triplets (each set of three items asked several times): the share of trials matching the
most frequent answer of their triplet (upper), and the share of ordered pairs of different
trials of one triplet that agree (lower).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3] / "shared" / "data" / "things"


def main() -> None:
    embedding = [[float(v) for v in line.split()] for line in (ROOT / "spose_embedding_49d_sorted.txt").read_text().splitlines()]
    trials = [[int(v) for v in line.split("\t")] for line in (ROOT / "test_triplets.tsv").read_text().splitlines()]

    def dot(a: int, b: int) -> float:
        return sum(x * y for x, y in zip(embedding[a], embedding[b]))

    correct = 0
    answers: dict[frozenset[int], Counter[int]] = defaultdict(Counter)
    for i, j, k, position, _participant in trials:
        items = (i - 1, j - 1, k - 1)
        pairs = {2: dot(items[0], items[1]), 1: dot(items[0], items[2]), 0: dot(items[1], items[2])}
        predicted = max(pairs, key=pairs.get)  # position left out of the most similar pair
        correct += predicted == position - 1
        answers[frozenset(items)][items[position - 1]] += 1
    print(f"SPoSE dot-product odd-one-out accuracy: {correct} / {len(trials)} = {correct / len(trials):.6f}")
    repeated = {key: c for key, c in answers.items() if sum(c.values()) >= 2}
    n_trials = sum(sum(c.values()) for c in repeated.values())
    upper = sum(max(c.values()) for c in repeated.values()) / n_trials
    agree = sum(v * (v - 1) for c in repeated.values() for v in c.values())
    pairs = sum(sum(c.values()) * (sum(c.values()) - 1) for c in repeated.values())
    print(f"repeated triplets: {len(repeated)} ({n_trials} trials)")
    print(f"ceiling upper (most frequent answer): {upper:.10f}")
    print(f"ceiling lower (two trials agree): {agree} / {pairs} = {agree / pairs:.10f}")


if __name__ == "__main__":
    main()
