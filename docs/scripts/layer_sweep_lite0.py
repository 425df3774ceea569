"""The layer sweep of EfficientNet-Lite0 on the Peterson et al. (2018) animals: docs/layer_sweep_lite0.png.

Alignment (Pearson and Spearman over the upper triangle, cosine similarity) of every
stage of the network with the human similarity matrix, against depth. Run from the
repository root (about a minute on two CPU cores; a rerun reads every layer from the
feature cache)::

    python docs/scripts/layer_sweep_lite0.py --data-root ../shared/data/peterson2018

It runs the same steps as the CLI::

    repalign extract efficientnet-lite:lite0 peterson2018:animals --data-root ../shared/data/peterson2018 \\
        --layers '_conv_stem,_blocks.?,_blocks.??,_conv_head,_avg_pooling,_fc' --out lite0_layers.npz
    repalign align peterson2018:animals lite0_layers.npz --data-root ../shared/data/peterson2018 \\
        --metric pearson,spearman --json
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

LAYERS = "_conv_stem,_blocks.?,_blocks.??,_conv_head,_avg_pooling,_fc"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data/peterson2018"))
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "layer_sweep_lite0.png")
    parser.add_argument("--features", type=Path, help="keep the multi-layer .npz here (default: a temporary file)")
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from repalign._files import atomic_path
    from repalign.models import align_layers, extract_layers

    features = args.features or Path(tempfile.mkdtemp(prefix="sweep-")) / "lite0_layers.npz"
    layered = extract_layers("efficientnet-lite:lite0", "peterson2018:animals", LAYERS, out=features,
                             data_root=args.data_root, device="cpu")
    table = align_layers("peterson2018:animals", layered, metrics="pearson,spearman", data_root=args.data_root)
    print(table.pivot(index=["depth", "layer"], columns="metric", values="value").round(4).to_string())

    fig, ax = plt.subplots(figsize=(7.0, 3.4), dpi=110)
    for metric, style in (("pearson", "o-"), ("spearman", "s--")):
        part = table[table.metric == metric]
        ax.plot(part.depth, part.value, style, label=metric, markersize=4)
    names = table[table.metric == "pearson"].layer.tolist()
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([n.replace("_blocks.", "b").lstrip("_") for n in names], rotation=60, fontsize=7)
    ax.set_xlabel("layer (input to output)")
    ax.set_ylabel("alignment with human similarity")
    ax.set_title("EfficientNet-Lite0 layer by layer, Peterson et al. (2018) animals (120 images)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    fig.tight_layout()
    with atomic_path(args.out, what="figure") as tmp:
        fig.savefig(tmp, format="png")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
