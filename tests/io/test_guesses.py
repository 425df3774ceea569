"""Never guess silently: each inference of the input layer is a stated rule, an error naming the flag, or a warning.

One test (or table) per class of input that once gave a wrong number with exit code 0,
plus its variants (issue 12).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from repalign import InputError, Representation, compare, load_representation
from repalign.cli import main
from repalign.io import detect_matrix_kind, load_triplets

IDS = [f"stim-{i:04d}.png" for i in range(6)]


def write_matrix(path, row_ids, m, col_ids=None, corner="stimulus"):
    col_ids = row_ids if col_ids is None else col_ids
    lines = [",".join([corner, *col_ids])]
    lines += [",".join([r, *[repr(float(v)) for v in row]]) for r, row in zip(row_ids, m)]
    path.write_text("\n".join(lines) + "\n")
    return path


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def sim(rng):
    x = rng.normal(size=(len(IDS), 4))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    s = x @ x.T
    np.fill_diagonal(s, 1.0)
    return s


# -- labelled matrix or feature table ---------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        # one header id differs in case from its row id (the Peterson .png/.PNG case)
        (lambda cols, rows, m: (cols[:3] + ["STIM-0003.PNG"] + cols[4:], rows, m),
         r"1 header ids are not in the first column: 'STIM-0003.PNG'.*1 first-column ids are not in the header: "
         r"'stim-0003.png'.*differ only in letter case or extension"),
        # one column missing: not square
        (lambda cols, rows, m: (cols[:-1], rows, m[:, :-1]),
         r"a 6 x 5 table.*1 first-column ids are not in the header: 'stim-0005.png'"),
        # one row missing
        (lambda cols, rows, m: (cols, rows[:-1], m[:-1]), r"a 5 x 6 table.*1 header ids are not in the first column"),
        # an extension dropped in the header
        (lambda cols, rows, m: ([c.removesuffix(".png") if c.endswith("1.png") else c for c in cols], rows, m),
         r"'stim-0001' vs 'stim-0001.png'"),
        # a repeated header id
        (lambda cols, rows, m: (cols[:2] + [cols[1]] + cols[3:], rows, m), r"the header repeats 'stim-0001.png'"),
    ],
)
def test_broken_labelled_matrix_is_an_error_listing_the_ids(tmp_path, sim, edit, expected):
    cols, rows, m = edit(list(IDS), list(IDS), sim)
    path = write_matrix(tmp_path / "h.csv", rows, m, col_ids=cols)
    with pytest.raises(InputError, match=expected) as info:
        load_representation(path)
    message = str(info.value)
    assert message.startswith(str(path)) and "kind='features' (CLI: --kind-a/--kind-b features)" in message
    with pytest.raises(InputError, match="not the same ids"):
        load_representation(path, kind="similarity")


def test_broken_labelled_matrix_exits_2_with_one_error_line(tmp_path, sim, capsys, rng):
    cols = [c.upper() if i == 2 else c for i, c in enumerate(IDS)]
    path = write_matrix(tmp_path / "h.csv", IDS, sim, col_ids=cols)
    Representation.from_features(IDS, rng.normal(size=(6, 3))).to_npz(tmp_path / "f.npz")
    code, out, err = run_cli(capsys, "align", path, tmp_path / "f.npz", "--json")
    errors = [line for line in err.splitlines() if "error:" in line]
    assert code == 2 and out == "" and len(errors) == 1 and str(path) in errors[0]
    assert "Traceback" not in err


def test_feature_tables_stay_feature_tables(tmp_path, rng):
    x = rng.normal(size=(6, 3))
    # text ids whose feature names are unrelated: a feature table
    pd.DataFrame(x, columns=["f0", "f1", "f2"]).assign(stimulus=IDS).to_csv(tmp_path / "a.csv", index=False)
    assert load_representation(tmp_path / "a.csv").kind == "features"
    # pandas' default: an empty corner, numeric column names, numeric row ids (not text: the rule does not apply)
    pd.DataFrame(rng.normal(size=(6, 8))).to_csv(tmp_path / "b.csv")
    with pytest.raises(InputError, match=r"--id-column"):
        load_representation(tmp_path / "b.csv")
    # features named like the stimuli (similarity to anchors) are read with kind="features"
    anchors = pd.DataFrame(x, columns=IDS[:3]).assign(stimulus=IDS)[["stimulus", *IDS[:3]]]
    anchors.to_csv(tmp_path / "c.csv", index=False)
    with pytest.raises(InputError, match="labelled matrix"):
        load_representation(tmp_path / "c.csv")
    rep = load_representation(tmp_path / "c.csv", kind="features")
    assert rep.kind == "features" and rep.ids == tuple(IDS)
    np.testing.assert_array_equal(rep.values, x)


def test_id_column_flag_reads_a_numeric_id_column(tmp_path, rng, capsys):
    x = rng.normal(size=(6, 3))
    df = pd.DataFrame(x, columns=["f0", "f1", "f2"])
    df.insert(0, "item", range(100, 106))
    df.to_csv(tmp_path / "f.csv", index=False)
    with pytest.raises(InputError, match=r"cannot find the stimulus id column.*--id-column"):
        load_representation(tmp_path / "f.csv")
    rep = load_representation(tmp_path / "f.csv", id_column="item")
    assert rep.ids == tuple(str(i) for i in range(100, 106))
    Representation.from_features(rep.ids, x).to_npz(tmp_path / "same.npz")
    code, out, _ = run_cli(capsys, "align", tmp_path / "f.csv", tmp_path / "same.npz", "--id-column", "item", "--json")
    assert code == 0 and json.loads(out)["pearson"] == pytest.approx(1.0)


def test_peterson_matrix_with_one_renamed_header_id_is_refused(tmp_path, shared_data):
    text = (shared_data / "peterson2018" / "similarity" / "animals.csv").read_text()
    header, rest = text.split("\n", 1)
    (tmp_path / "animals.csv").write_text(header.replace("stim-0007.png", "stim-0007.PNG", 1) + "\n" + rest)
    with pytest.raises(InputError, match=r"'stim-0007.PNG' vs 'stim-0007.png'"):
        load_representation(tmp_path / "animals.csv")


# -- similarity or dissimilarity --------------------------------------------------------


def test_zero_diagonal_reading_is_a_warning_naming_the_flag(tmp_path, sim, caplog):
    counts = np.round(10 * (sim + 1))
    np.fill_diagonal(counts, 0)  # co-occurrence counts: a similarity with blanked self-pairs
    path = write_matrix(tmp_path / "counts.csv", IDS, counts)
    with caplog.at_level(logging.WARNING, logger="repalign"):
        rep = load_representation(path)
    assert rep.kind == "dissimilarity"
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1 and str(path) in warned[0] and "--kind-a/--kind-b similarity" in warned[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="repalign"):
        given = load_representation(path, kind="similarity")
    assert given.kind == "similarity" and not caplog.records
    truth = Representation.from_similarity(IDS, counts + np.diag(np.full(6, 40.0)))
    assert compare(given, truth, metrics="spearman").scores["spearman"] == pytest.approx(1.0)
    assert compare(rep, truth, metrics="spearman").scores["spearman"] == pytest.approx(-1.0)


def test_zero_diagonal_warning_reaches_stderr_in_the_cli(tmp_path, sim):
    d = 1 - sim
    np.fill_diagonal(d, 0)
    path = write_matrix(tmp_path / "d.csv", IDS, d)
    done = subprocess.run([sys.executable, "-m", "repalign", "align", str(path), str(path), "--json"],
                          capture_output=True, text=True)
    assert done.returncode == 0 and json.loads(done.stdout)["pearson"] == pytest.approx(1.0)
    assert "read as a dissimilarity matrix" in done.stderr and "--kind-a/--kind-b similarity" in done.stderr
    quiet = subprocess.run([sys.executable, "-m", "repalign", "-q", "align", str(path), str(path), "--json"],
                           capture_output=True, text=True)
    assert "read as a dissimilarity matrix" in quiet.stderr  # a warning is not silenced by -q


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_float_computed_cosine_matrix_is_a_similarity(rng, dtype):
    x = rng.normal(size=(30, 7)).astype(dtype)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    s = (x @ x.T).astype(np.float64)
    s = (s + s.T) / 2
    assert not np.all(np.diag(s) == 1.0)  # the round-off the rule must tolerate
    kind, reason = detect_matrix_kind(s)
    assert kind == "similarity" and "within" in reason


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ((1, 3), r"2 values are NaN or infinite \(2 NaN\); first at \['stim-0001.png', 'stim-0003.png'\] "
                 r"\(off the diagonal\)"),
        ((2, 2), r"1 values are NaN or infinite \(1 NaN\); 1 on the diagonal \('stim-0002.png'\)"),
    ],
)
def test_nan_cells_are_named_with_their_position(tmp_path, sim, cell, expected):
    m = sim.copy()
    m[cell] = m[cell[::-1]] = np.nan
    path = write_matrix(tmp_path / "nan.csv", IDS, m)
    with pytest.raises(InputError, match=expected) as info:
        load_representation(path)
    assert "cannot tell" not in str(info.value)
    np.save(tmp_path / "nan.npy", m)
    (tmp_path / "nan.ids.txt").write_text("\n".join(IDS))
    with pytest.raises(InputError, match=expected):
        load_representation(tmp_path / "nan.npy")


def test_infinite_cell_and_truly_undecidable_diagonals(tmp_path, sim):
    m = sim.copy()
    m[0, 1] = m[1, 0] = np.inf
    with pytest.raises(InputError, match=r"\(1 infinite\)|\(2 infinite\)"):
        load_representation(write_matrix(tmp_path / "inf.csv", IDS, m))
    m = sim.copy()
    m[np.diag_indices(6)] = np.linspace(1, 2, 6)
    with pytest.raises(InputError, match=r"diagonal is not constant \(from 1 to 2\).*--kind-a/--kind-b"):
        load_representation(write_matrix(tmp_path / "d.csv", IDS, m))
    m = sim.copy() * 0.5
    m[0, 1] = m[1, 0] = 3.0
    with pytest.raises(InputError, match=r"an off-diagonal value \(3\) exceeds it"):
        load_representation(write_matrix(tmp_path / "o.csv", IDS, m))


# -- triplet files ----------------------------------------------------------------------


def _things_rows(rng, n_items, n_rows, *, base, choice_base, drop=()):
    rows = []
    while len(rows) < n_rows:
        t = rng.choice(n_items, size=3, replace=False)
        if any(i in drop for i in t):
            continue
        rows.append((*(t + base), int(rng.integers(3)) + choice_base))
    return rows


def write_rows(path, rows):
    path.write_text("\n".join("\t".join(map(str, r)) for r in rows) + "\n")
    return path


def test_zero_based_file_without_index_zero_is_ambiguous(tmp_path, rng):
    items = [f"item{i}" for i in range(10)]
    rows = _things_rows(rng, 10, 40, base=0, choice_base=1, drop=(0,))  # 0-based, item 0 never used
    path = write_rows(tmp_path / "t.tsv", rows)
    with pytest.raises(InputError, match=r"fits 1-based numbering \(THINGS\) and 0-based numbering alike.*"
                       r"--index-base 0 or --index-base 1"):
        load_triplets(path, items=items)
    data = load_triplets(path, items=items, index_base=0)
    assert data.triplets.tolist() == [list(r[:3]) for r in rows]


def test_one_based_file_is_proven_by_its_last_index(tmp_path, rng):
    items = [f"item{i}" for i in range(10)]
    rows = _things_rows(rng, 10, 60, base=1, choice_base=1)
    assert max(max(r[:3]) for r in rows) == 10
    data = load_triplets(write_rows(tmp_path / "t.tsv", rows), items=items)
    assert data.triplets.tolist() == [[i - 1 for i in r[:3]] for r in rows]
    assert data.odd.tolist() == [r[3] - 1 for r in rows]


def test_choice_coding_without_zero_or_three_is_ambiguous(tmp_path, rng):
    items = [f"item{i}" for i in range(10)]
    rows = [(*r[:3], 1 + (k % 2)) for k, r in enumerate(_things_rows(rng, 10, 40, base=1, choice_base=0))]
    rows[0] = (10, *rows[0][1:])  # prove the index base, so only the choice coding is in question
    if len(set(rows[0][:3])) < 3:
        rows[0] = (10, 1, 2, rows[0][3])
    path = write_rows(tmp_path / "c.tsv", rows)
    with pytest.raises(InputError, match=r"holds only 1 and 2 in 40 trials.*--choice-base 1 / --choice-base 0"):
        load_triplets(path, items=items)
    zero = load_triplets(path, items=items, choice_base=0)
    assert zero.odd.tolist() == [r[3] for r in rows]
    one = load_triplets(path, items=items, choice_base=1)
    assert one.odd.tolist() == [r[3] - 1 for r in rows]


def test_small_choice_column_without_three_is_a_warning(tmp_path, caplog):
    path = write_rows(tmp_path / "s.tsv", [(1, 2, 3, 1), (3, 2, 1, 2)])
    with caplog.at_level(logging.WARNING, logger="repalign"):
        data = load_triplets(path, items=["a", "b", "c"])
    assert data.odd.tolist() == [0, 1]
    assert "--choice-base" in caplog.text


def test_zero_coded_choices_need_the_flag(tmp_path):
    path = write_rows(tmp_path / "z.tsv", [(1, 2, 3, 0), (3, 2, 1, 2)])
    with pytest.raises(InputError, match=r"line 1 has '0', so it looks 0-based: pass choice_base=0 \(CLI: --choice-base 0\)"):
        load_triplets(path, items=["a", "b", "c"])
    assert load_triplets(path, items=["a", "b", "c"], choice_base=0).odd.tolist() == [0, 2]
    with pytest.raises(InputError, match="choice_base must be 0 or 1"):
        load_triplets(path, items=["a", "b", "c"], choice_base=2)


def test_cli_index_base_flag(tmp_path, rng, capsys):
    items = [f"item{i}" for i in range(10)]
    (tmp_path / "items.txt").write_text("\n".join(items) + "\n")
    rows = _things_rows(rng, 10, 40, base=0, choice_base=1, drop=(0,))
    path = write_rows(tmp_path / "t.tsv", rows)
    x = rng.normal(size=(10, 4))
    Representation.from_features(items, x).to_npz(tmp_path / "f.npz")
    argv = ["align", path, tmp_path / "f.npz", "--metric", "odd-one-out", "--items", tmp_path / "items.txt", "--json"]
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and "--index-base" in err and "Traceback" not in err
    code, out, _ = run_cli(capsys, *argv, "--index-base", "0")
    assert code == 0 and json.loads(out)["n_triplets"] == 40


# -- ids, complex values, damaged files -------------------------------------------------


def test_bytes_ids_are_decoded(tmp_path, rng):
    x = rng.normal(size=(4, 3))
    np.savez(tmp_path / "b.npz", ids=np.array([b"s0", b"s1", b"s2", b"s3"]), features=x)
    rep = load_representation(tmp_path / "b.npz")
    assert rep.ids == ("s0", "s1", "s2", "s3")
    other = Representation.from_features(["s3", "s2", "s1", "s0"], x[::-1])
    assert compare(rep, other, metrics="pearson").scores["pearson"] == pytest.approx(1.0)
    np.savez(tmp_path / "bad.npz", ids=np.array([b"s0", b"\xff\xfe", b"s2", b"s3"]), features=x)
    with pytest.raises(InputError, match=r"bad.npz: stimulus id b'\\xff\\xfe' is not UTF-8 text"):
        load_representation(tmp_path / "bad.npz")


def test_bytes_ids_in_feature_files_and_labels(tmp_path, rng):
    from repalign.io import load_features, load_labelled_features

    x = rng.normal(size=(4, 3)).astype(np.float32)
    np.savez(tmp_path / "f.npz", ids=np.array([b"a", b"b", b"c", b"d"]), features=x,
             labels=np.array([b"cat", b"dog", b"cat", b"dog"]))
    assert load_features(tmp_path / "f.npz").ids == ("a", "b", "c", "d")
    data = load_labelled_features(tmp_path / "f.npz")
    assert data.ids == ["a", "b", "c", "d"] and data.labels.tolist() == ["cat", "dog", "cat", "dog"]


@pytest.mark.parametrize("suffix", [".npz", ".npy"])
def test_complex_values_are_refused(tmp_path, rng, suffix):
    z = rng.normal(size=(4, 3)) + 1j * rng.normal(size=(4, 3))
    if suffix == ".npz":
        np.savez(tmp_path / "z.npz", ids=np.array(list("abcd")), features=z)
    else:
        np.save(tmp_path / "z.npy", z)
        (tmp_path / "z.ids.txt").write_text("a\nb\nc\nd\n")
    with pytest.raises(InputError, match=r"complex numbers \(complex128\).*Convert them explicitly"):
        load_representation(tmp_path / f"z{suffix}")


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.99])
def test_truncated_npz_is_one_clear_error(tmp_path, rng, capsys, keep):
    Representation.from_features(list("abcdef"), rng.normal(size=(6, 50))).to_npz(tmp_path / "f.npz")
    data = (tmp_path / "f.npz").read_bytes()
    (tmp_path / "t.npz").write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(InputError, match=r"t.npz: not a valid .npz file \(truncated or corrupt"):
        load_representation(tmp_path / "t.npz")
    code, out, err = run_cli(capsys, "align", tmp_path / "t.npz", tmp_path / "f.npz")
    assert code == 2 and "Traceback" not in err
    assert [line for line in err.splitlines() if line.strip()] == [
        line for line in err.splitlines() if "error:" in line
    ]


def test_corrupt_compressed_member(tmp_path, rng):
    np.savez_compressed(tmp_path / "c.npz", ids=np.array(list("abcdef")), features=rng.normal(size=(6, 400)))
    data = bytearray((tmp_path / "c.npz").read_bytes())
    data[600:700] = b"x" * 100
    (tmp_path / "c.npz").write_bytes(bytes(data))
    with pytest.raises(InputError, match="c.npz: not a valid .npz file"):
        load_representation(tmp_path / "c.npz")


# -- .npy: features or a matrix ---------------------------------------------------------


def test_npy_rule(tmp_path, rng, sim, caplog):
    (tmp_path / "f.ids.txt").write_text("\n".join(IDS))
    feats = rng.normal(size=(6, 9))
    np.save(tmp_path / "f.npy", feats)
    with caplog.at_level(logging.INFO, logger="repalign"):
        rep = load_representation(tmp_path / "f.npy")
    assert rep.kind == "features" and "read as features" in caplog.text
    np.testing.assert_array_equal(rep.values, feats)
    np.save(tmp_path / "f.npy", sim)  # square and symmetric: a matrix
    assert load_representation(tmp_path / "f.npy").kind == "similarity"
    square = rng.normal(size=(6, 6))
    np.save(tmp_path / "f.npy", square)
    with pytest.raises(InputError, match=r"square 6 x 6 array that is not symmetric.*kind='features'"):
        load_representation(tmp_path / "f.npy")
    assert load_representation(tmp_path / "f.npy", kind="features").kind == "features"
    np.save(tmp_path / "f.npy", feats)
    with pytest.raises(InputError, match=r"a similarity matrix must be square; got shape \(6, 9\)"):
        load_representation(tmp_path / "f.npy", kind="similarity")


# -- encodings and item lists -----------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".txt"])
def test_byte_order_mark_is_not_part_of_the_first_id(tmp_path, rng, suffix):
    x = rng.normal(size=(3, 2))
    text = "id,f0,f1\n" + "".join(f"{i},{a!r},{b!r}\n" for i, (a, b) in zip("abc", x.tolist()))
    (tmp_path / f"f{suffix}").write_bytes(b"\xef\xbb\xbf" + text.encode())
    rep = load_representation(tmp_path / f"f{suffix}")
    assert rep.ids == ("a", "b", "c") and rep.meta["id_column"] == "id"
    (tmp_path / "t.tsv").write_bytes(b"\xef\xbb\xbf" + b"1\t2\t3\t3\n")
    assert load_triplets(tmp_path / "t.tsv", items=["x", "y", "z"]).triplets.tolist() == [[0, 1, 2]]
    (tmp_path / "items.txt").write_bytes(b"\xef\xbb\xbfx\ny\nz\n")
    assert load_triplets(tmp_path / "t.tsv", items=tmp_path / "items.txt").items == ("x", "y", "z")


def test_item_list_with_repeats_and_negative_indices(tmp_path):
    path = write_rows(tmp_path / "t.tsv", [(1, 2, 3, 3)])
    with pytest.raises(InputError, match=r"the item list repeats 1 items \('x'\)"):
        load_triplets(path, items=["x", "y", "x"])
    path = write_rows(tmp_path / "n.tsv", [(-1, 2, 3, 3)])
    with pytest.raises(InputError, match=r"run from -1 to 3, which fits the 4 items of the item list neither"):
        load_triplets(path, items=["a", "b", "c", "d"])
