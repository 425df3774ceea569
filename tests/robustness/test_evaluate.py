"""Direct evaluation: the 200-class masking logic exactly, and whole folders end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from repalign import DataNotFoundError, InputError

torch = pytest.importorskip("torch")
timm = pytest.importorskip("timm")
Image = pytest.importorskip("PIL.Image")

from repalign.robustness import (  # noqa: E402
    IMAGENET_A_WNIDS,
    IMAGENET_R_WNIDS,
    class_indices,
    evaluate_folder,
    imagenet_wnids,
    masked_topk_correct,
    scan_class_folder,
)

pytestmark = pytest.mark.torch


def brute_topk(logits: np.ndarray, labels: np.ndarray, subset: np.ndarray | None, k: int) -> int:
    """Reference: for each row, sort the allowed classes by (-logit, index) and look up the label."""
    allowed = range(logits.shape[1]) if subset is None else [int(c) for c in subset]
    hits = 0
    for row, label in zip(logits, labels):
        ranked = sorted(allowed, key=lambda c: (-row[c], c))
        hits += int(label) in ranked[:k]
    return hits


@pytest.mark.parametrize("dataset", ["imagenet-a", "imagenet-r", "imagenet"])
def test_masked_topk_matches_brute_force(rng, dataset):
    subset = class_indices(dataset)
    pool = subset if subset is not None else np.arange(1000)
    labels = rng.choice(pool, size=40)
    logits = rng.integers(0, 6, size=(40, 1000)).astype(float)  # many ties on purpose
    got = masked_topk_correct(logits, labels, subset, ks=(1, 2, 5))
    for k in (1, 2, 5):
        assert got[k] == brute_topk(logits, labels, subset, k)
    as_torch = masked_topk_correct(torch.from_numpy(logits), torch.from_numpy(labels), subset, ks=(1, 5))
    assert as_torch == {1: got[1], 5: got[5]}


def test_masking_changes_the_answer_exactly():
    a = class_indices("imagenet-a")
    label = int(a[10])
    outside = 0  # tench: not an ImageNet-A class
    assert outside not in set(a.tolist())
    logits = np.zeros((1, 1000))
    logits[0, outside] = 9.0  # the global winner is outside the 200 classes ...
    logits[0, label] = 5.0  # ... the label wins among them
    assert masked_topk_correct(logits, [label], a, ks=(1,)) == {1: 1}
    assert masked_topk_correct(logits, [label], None, ks=(1,)) == {1: 0}
    # top-5 among 200: four other A classes above the label push it to rank 5, not 6
    for j, c in enumerate(a[:4]):
        logits[0, c] = 6.0 + j
    logits[0, 1:6] = 8.0  # non-A classes that would crowd it out of an unmasked top-5
    assert masked_topk_correct(logits, [label], a, ks=(4, 5)) == {4: 0, 5: 1}
    assert masked_topk_correct(logits, [label], None, ks=(5,)) == {5: 0}
    with pytest.raises(InputError, match="not in the class subset"):
        masked_topk_correct(logits, [outside], a)


def _folder(root: Path, wnids: list[str], per_class: int, value) -> Path:
    for w in wnids:
        (root / w).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(value(w, i)).save(root / w / f"img_{i}.png")
    return root


class Oracle(torch.nn.Module):
    """Returns logits whose masked winner is encoded in the image: class = 4 * R + G.

    Class 0 (outside ImageNet-A/-R) always gets the largest logit, and a small descending
    ramp breaks every tie, so the expected answer is known without running a network.
    """

    def forward(self, x):
        n = x.shape[0]
        logits = -1e-3 * torch.arange(1000, dtype=torch.float32).repeat(n, 1)
        idx = (x[:, 0, 0, 0] * 4 + x[:, 1, 0, 0]).long()
        logits[torch.arange(n), idx] = 5.0
        logits[:, 0] = 10.0
        return logits


def _as_tensor(img):
    return torch.from_numpy(np.asarray(img, dtype=np.float32)).permute(2, 0, 1)


def test_evaluate_folder_scores_imagenet_a_with_masking(tmp_path):
    position = {w: i for i, w in enumerate(imagenet_wnids())}
    classes = list(IMAGENET_A_WNIDS[10:13])
    correct_for = {classes[0]: 2, classes[1]: 1, classes[2]: 0}  # images per class predicted right

    def value(w, i):
        target = position[w] if i < correct_for[w] else position[IMAGENET_A_WNIDS[-1]]
        pixel = np.array([target // 4, target % 4, 0], dtype=np.uint8)
        return np.tile(pixel, (4, 4, 1))

    folder = _folder(tmp_path / "imagenet-a", classes, 2, value)
    res = evaluate_folder(Oracle(), folder, dataset="imagenet-a", transform=_as_tensor, batch_size=4, device="cpu")
    assert res.n_images == 6 and res.n_classes_found == 3 and res.n_classes_scored == 200
    assert res.top1 == pytest.approx(100 * 3 / 6)
    # top-5 among the 200 classes: the encoded class, then the four lowest-index A classes
    low4 = {int(c) for c in class_indices("imagenet-a")[:4]}
    expected5 = sum(1 for w in classes for i in range(2) if i < correct_for[w] or position[w] in low4)
    assert res.top5 == pytest.approx(100 * expected5 / 6)
    assert res.as_columns() == {"imagenet_a_top1": res.top1, "imagenet_a_top5": res.top5}
    # scored over all 1,000 classes the same folder is always wrong (class 0 wins)
    full = evaluate_folder(Oracle(), folder, dataset="imagenet-sketch", transform=_as_tensor, device="cpu")
    assert full.top1 == 0.0 and full.n_classes_scored == 1000


def test_random_timm_model_matches_a_manual_loop(tmp_path, rng):
    model = timm.create_model("test_resnet", pretrained=False).eval()
    classes = list(IMAGENET_R_WNIDS[5:8])
    folder = _folder(tmp_path / "r", classes, 2, lambda w, i: rng.integers(0, 255, (40, 48, 3), dtype=np.uint8))
    res = evaluate_folder(model, folder, dataset="imagenet-r", batch_size=3, device="cpu")
    cfg = timm.data.resolve_data_config({}, model=model)
    tf = timm.data.create_transform(**cfg)
    files, labels, _ = scan_class_folder(folder, "imagenet-r")
    with torch.inference_mode():
        logits = model(torch.stack([tf(Image.open(f).convert("RGB")) for f in files])).numpy()
    subset = class_indices("imagenet-r")
    assert res.top1 == pytest.approx(100 * brute_topk(logits, labels, subset, 1) / 6)
    assert res.top5 == pytest.approx(100 * brute_topk(logits, labels, subset, 5) / 6)


def test_folder_errors(tmp_path):
    with pytest.raises(DataNotFoundError):
        scan_class_folder(tmp_path / "missing", "imagenet-a")
    (tmp_path / "a" / IMAGENET_A_WNIDS[0]).mkdir(parents=True)
    with pytest.raises(DataNotFoundError, match="no images"):
        scan_class_folder(tmp_path / "a", "imagenet-a")
    (tmp_path / "a" / "n01440764").mkdir()  # tench: an ImageNet class, but not an ImageNet-A one
    with pytest.raises(InputError, match="n01440764"):
        scan_class_folder(tmp_path / "a", "imagenet-a")
    with pytest.raises(InputError, match="Valid options"):
        scan_class_folder(tmp_path / "a", "imagenet-c")
    with pytest.raises(InputError, match="a torch.nn.Module or a model id"):
        evaluate_folder(123, tmp_path / "a", dataset="imagenet-a")
    with pytest.raises(InputError, match="not a timm architecture"):
        evaluate_folder("timm:not_a_model_xyz", tmp_path / "a", dataset="imagenet-a")


def test_model_ids_go_through_the_registry_with_their_own_preprocessing(tmp_path, rng):
    from repalign.models import load_model

    classes = list(IMAGENET_A_WNIDS[:3])
    folder = _folder(tmp_path / "a", classes, 2, lambda w, i: rng.integers(0, 255, (40, 48, 3), dtype=np.uint8))
    by_id = evaluate_folder("timm:test_resnet", folder, dataset="imagenet-a", pretrained=False, device="cpu")
    loaded = load_model("timm:test_resnet", pretrained=False)  # the same seeded random init
    by_module = evaluate_folder(loaded.module, folder, dataset="imagenet-a", transform=loaded.transform, device="cpu")
    assert (by_id.top1, by_id.top5) == (by_module.top1, by_module.top5)


def test_wrong_number_of_logits(tmp_path):
    folder = _folder(tmp_path / "s", [IMAGENET_A_WNIDS[0]], 1, lambda w, i: np.zeros((4, 4, 3), np.uint8))
    ten_class = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(48, 10))
    with pytest.raises(InputError, match="1,000 ImageNet logits"):
        evaluate_folder(ten_class, folder, dataset="imagenet-sketch", transform=_as_tensor, device="cpu")


def test_robustness_cli(tmp_path, rng, capsys):
    import json

    from repalign.cli import main

    folder = _folder(tmp_path / "r", list(IMAGENET_R_WNIDS[:2]), 2, lambda w, i: rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))
    code = main(["robustness", "timm:test_resnet", str(folder), "--dataset", "imagenet-r", "--random-init", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["n_images"] == 4 and out["n_classes_scored"] == 200
    assert out["imagenet_r_top1"] == out["top1"] and 0 <= out["top1"] <= out["top5"] <= 100
    with pytest.raises(SystemExit) as exit_info:  # argparse: an invalid --dataset choice
        main(["robustness", "timm:test_resnet", str(folder), "--dataset", "imagenet-c"])
    assert exit_info.value.code == 2
