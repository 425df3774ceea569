"""Triplet files and triplet / odd-one-out accuracy, against explicit loops."""

from __future__ import annotations

from collections import Counter
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repalign import DataNotFoundError, InputError, Representation
from repalign.data.triplets import load_triplets
from repalign.evaluation.triplets import odd_one_out_accuracy, triplet_accuracy, triplet_ceiling


def loop_odd_one_out(sim, triplets, odd, ties):
    """One triplet at a time: the item outside the most similar pair; ties shared 1/t or dropped."""
    total, used = Fraction(0), 0
    for (i, j, k), o in zip(triplets, odd):
        items = (i, j, k)
        pair_sims = {}
        for p in range(3):
            a, b = [items[q] for q in range(3) if q != p]
            pair_sims[p] = sim[a][b]
        best = max(pair_sims.values())
        winners = [p for p, v in pair_sims.items() if v == best]
        if ties == "exclude" and len(winners) > 1:
            continue
        total += Fraction(int(o in winners), len(winners))
        used += 1
    return float(total / used)


def loop_anchor(sim, triplets, ties):
    total, used = 0.0, 0
    for a, p, n in triplets:
        if sim[a][p] == sim[a][n]:
            if ties == "exclude":
                continue
            total += 0.5
        else:
            total += float(sim[a][p] > sim[a][n])
        used += 1
    return total / used


def write_things(path, rows):
    path.write_text("\n".join("\t".join(str(v) for v in r) for r in rows) + "\n")
    return path


@pytest.fixture
def items():
    return [f"item{i}" for i in range(8)]


def test_things_format_with_item_list(tmp_path, items):
    p = write_things(tmp_path / "t.tsv", [(1, 2, 3, 3, 7), (8, 2, 5, 1, 9)])
    data = load_triplets(p, items=items)
    assert data.format == "odd-one-out" and data.items == tuple(items)
    assert data.triplets.tolist() == [[0, 1, 2], [7, 1, 4]]
    assert data.odd.tolist() == [2, 0]
    assert data.chosen().tolist() == [2, 7]
    assert data.participant_ids == ("7", "9") and data.participants.tolist() == [0, 1]
    assert data.used_items() == ["item0", "item1", "item2", "item4", "item7"]
    zero = load_triplets(write_things(tmp_path / "z.tsv", [(0, 1, 2, 1)]), items=items, index_base=0)
    assert zero.triplets.tolist() == [[0, 1, 2]]


def test_index_base_mistakes_are_caught(tmp_path, items):
    p = write_things(tmp_path / "z.tsv", [(0, 1, 2, 1)])
    with pytest.raises(InputError, match=r"contains index 0, so it looks 0-based: pass index_base=0"):
        load_triplets(p, items=items)
    p = write_things(tmp_path / "o.tsv", [(8, 1, 2, 1)])
    with pytest.raises(InputError, match=r"contains index 8, so it looks 1-based"):
        load_triplets(p, items=items, index_base=0)
    with pytest.raises(InputError, match="index_base must be 0 or 1"):
        load_triplets(p, items=items, index_base=2)


def test_header_formats(tmp_path):
    (tmp_path / "apn.csv").write_text("anchor,positive,negative,participant\ncat,dog,car,p1\ncar,bus,cat,p2\n")
    apn = load_triplets(tmp_path / "apn.csv")
    assert apn.format == "anchor" and apn.metric == "anchor-triplet"
    assert [[apn.items[i] for i in row] for row in apn.triplets] == [["cat", "dog", "car"], ["car", "bus", "cat"]]
    (tmp_path / "ooo.tsv").write_text("item1\titem2\titem3\todd\ncat\tdog\tcar\tcar\ndog\tcar\tcat\tdog\n")
    ooo = load_triplets(tmp_path / "ooo.tsv")
    assert ooo.format == "odd-one-out" and ooo.odd.tolist() == [2, 0]
    (tmp_path / "pos.txt").write_text("item1 item2 item3 odd_position\ncat dog car 3\n")
    assert load_triplets(tmp_path / "pos.txt").odd.tolist() == [2]
    (tmp_path / "idx.csv").write_text("anchor,positive,negative\n1,2,3\n")
    assert load_triplets(tmp_path / "idx.csv", items=["a", "b", "c"]).triplets.tolist() == [[0, 1, 2]]
    assert load_triplets(tmp_path / "idx.csv").items == ("1", "2", "3")  # no item list: the cells are ids
    (tmp_path / "ids.csv").write_text("anchor,positive,negative\na,b,zz\n")
    with pytest.raises(InputError, match=r"1 items are not in the item list of 3: 'zz'"):
        load_triplets(tmp_path / "ids.csv", items=["a", "b", "c"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("1\t2\t3\n", r"3 columns without a header.*add a header row"),
        ("1\t2\t3\t4\n", r"column 4 must hold the position \(1, 2 or 3\).*line 1 has '4'"),
        ("1\t1\t3\t2\n", r"1 triplets repeat an item.*first at line 1"),
        ("item1,item2,item3,odd\na,b,c,d\n", r"odd one that is not among their three items; first at line 2: odd 'd'"),
        ("item1,item2,item3,odd_position\na,b,c,0\n", r"'odd_position' must hold 1, 2 or 3"),
        ("foo,bar,baz\na,b,c\n", r"unrecognised header 'foo', 'bar', 'baz'"),
        ("anchor,positive,negative\n", r"no triplets \(only a header\)"),
        ("\n", r"the triplet file is empty"),
    ],
)
def test_triplet_file_errors(tmp_path, content, message):
    path = tmp_path / ("bad.csv" if "," in content else "bad.tsv")
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        load_triplets(path, items=["a", "b", "c", "d"])


def test_missing_file(tmp_path):
    with pytest.raises(DataNotFoundError, match="no such triplet file"):
        load_triplets(tmp_path / "none.tsv")


def _random_data(tmp_path, rng, n_items, n_triplets, *, anchor=False):
    ids = [f"s{i}" for i in range(n_items)]
    rows = [rng.choice(n_items, 3, replace=False) for _ in range(n_triplets)]
    if anchor:
        text = "anchor,positive,negative\n" + "\n".join(",".join(ids[i] for i in r) for r in rows)
    else:
        text = "item1,item2,item3,odd_position\n" + "\n".join(
            ",".join(ids[i] for i in r) + f",{rng.integers(1, 4)}" for r in rows
        )
    (tmp_path / "t.csv").write_text(text + "\n")
    return ids, load_triplets(tmp_path / "t.csv")


@pytest.mark.parametrize("ties", ["half", "exclude"])
@pytest.mark.parametrize("anchor", [False, True])
def test_accuracy_matches_an_explicit_loop_with_many_ties(tmp_path, rng, ties, anchor):
    ids, data = _random_data(tmp_path, rng, 12, 400, anchor=anchor)
    sim = rng.integers(0, 3, size=(12, 12)).astype(float)  # few levels: many ties, 3-way ones too
    sim = sim + sim.T
    rep = Representation.from_similarity(ids, sim)
    got = triplet_accuracy(rep, data, ties=ties, chunk=37)  # chunks that do not divide the data
    local = {x: i for i, x in enumerate(ids)}
    t = [[local[data.items[i]] for i in row] for row in data.triplets]
    expected = loop_anchor(sim, t, ties) if anchor else loop_odd_one_out(sim, t, data.odd, ties)
    assert got.accuracy == pytest.approx(expected, abs=1e-12)
    assert got.n_tied > 0 and got.n_triplets == 400
    assert got.n_used == (400 if ties == "half" else 400 - got.n_tied)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["cosine", "dot", "euclidean", "correlation"]))
def test_accuracy_property_against_loop_on_features(seed, similarity):
    rng = np.random.default_rng(seed)
    n = 7
    x = rng.normal(size=(n, 3))
    t = np.array([rng.choice(n, 3, replace=False) for _ in range(30)])
    odd = rng.integers(0, 3, size=30).astype(np.int8)
    from repalign.data.triplets import TripletData

    ids = [f"s{i}" for i in range(n)]
    data = TripletData("odd-one-out", tuple(ids), t, odd, None, (), "generated")
    rep = Representation.from_features(ids, x)
    sim = rep.similarity(similarity)
    got = triplet_accuracy(rep, data, similarity=similarity).accuracy
    assert got == pytest.approx(loop_odd_one_out(sim, t, odd, "half"), abs=1e-12)


def test_order_of_representation_rows_does_not_matter(tmp_path, rng):
    ids, data = _random_data(tmp_path, rng, 10, 200)
    x = rng.normal(size=(10, 4))
    a = triplet_accuracy(Representation.from_features(ids, x), data).accuracy
    perm = rng.permutation(10)
    extra = np.vstack([x[perm], rng.normal(size=(2, 4))])
    b = triplet_accuracy(Representation.from_features([ids[i] for i in perm] + ["u1", "u2"], extra), data).accuracy
    assert a == b


def test_accuracy_errors(tmp_path, rng):
    ids, data = _random_data(tmp_path, rng, 6, 20)
    rep = Representation.from_features(ids[:4], rng.normal(size=(4, 2)))
    with pytest.raises(InputError, match=r"lacks 2 of the 6 items .*'s4', 's5'"):
        triplet_accuracy(rep, data)
    with pytest.raises(InputError, match="Valid options: half, exclude"):
        triplet_accuracy(rep, data, ties="random")
    flat = Representation.from_similarity(ids, np.ones((6, 6)))
    with pytest.raises(InputError, match="every prediction is tied"):
        triplet_accuracy(flat, data, ties="exclude")
    assert triplet_accuracy(flat, data).accuracy == pytest.approx(1 / 3)
    (tmp_path / "n.tsv").write_text("1\t2\t3\t1\n")
    numeric = load_triplets(tmp_path / "n.tsv")
    with pytest.raises(InputError, match=r"name items by number: give the item list"):
        triplet_accuracy(Representation.from_features(ids, rng.normal(size=(6, 2))), numeric)
    _, apn = _random_data(tmp_path, rng, 6, 5, anchor=True)
    with pytest.raises(InputError, match="anchor/positive/negative triplets, not odd-one-out"):
        odd_one_out_accuracy(rep, apn)


def test_ceiling_matches_counting_by_hand(tmp_path):
    rows = [  # triplet {a,b,c}: odd c three times, a once; {a,b,d}: d, d; {b,c,d} once (not repeated)
        ("a", "b", "c", "c"), ("c", "a", "b", "c"), ("b", "c", "a", "c"), ("a", "c", "b", "a"),
        ("a", "b", "d", "d"), ("d", "b", "a", "d"), ("b", "c", "d", "b"),
    ]
    (tmp_path / "c.csv").write_text("item1,item2,item3,odd\n" + "\n".join(",".join(r) for r in rows) + "\n")
    c = triplet_ceiling(load_triplets(tmp_path / "c.csv"))
    assert c.n_repeated == 2 and c.n_trials == 6
    assert c.upper == pytest.approx((3 + 2) / 6)
    # ordered pairs of different trials that agree: {abc}: 3*2 of 12, {abd}: 2*1 of 2
    assert c.lower == pytest.approx((6 + 2) / (12 + 2))
    (tmp_path / "once.csv").write_text("anchor,positive,negative\na,b,c\na,b,d\n")
    with pytest.raises(InputError, match="no triplet is asked more than once"):
        triplet_ceiling(load_triplets(tmp_path / "once.csv"))
    (tmp_path / "apn.csv").write_text("anchor,positive,negative\na,b,c\na,c,b\na,b,c\n")
    c = triplet_ceiling(load_triplets(tmp_path / "apn.csv"))
    assert (c.n_repeated, c.upper, c.lower) == (1, pytest.approx(2 / 3), pytest.approx(2 / 6))


# -- the THINGS reference ----------------------------------------------------------------


def test_spose_dot_product_predicts_6299_of_things_test_triplets(shared_data):
    from repalign.data.things import load_spose, load_things_triplets

    root = shared_data / "things"
    data = load_things_triplets(root, "test")
    assert data.n_triplets == 20000
    result = odd_one_out_accuracy(load_spose(root), data, similarity="dot")
    assert result.n_tied == 0
    assert round(result.accuracy * 100, 2) == 62.99
    assert result.accuracy == 12598 / 20000
    c = triplet_ceiling(data)  # reference values: tests/reference/things_reference.py
    assert (c.n_repeated, c.n_trials) == (1000, 20000)
    assert c.upper == 13440 / 20000
    assert c.lower == 207654 / 383834
    counts = Counter(map(tuple, np.sort(data.triplets, axis=1).tolist()))
    assert len(counts) == 1000
