"""Model families, as the report colours and lists them: an architecture's version digits
stay with its name (``mobilenetv3``, not ``mobilenetv``), and the EfficientNet-Lite source's
models are one family (``efficientnet-lite``, not ``lite``)."""

from __future__ import annotations

import pytest

from repalign.results import model_family


@pytest.mark.parametrize("model, family", [
    ("timm:mobilenetv3_small_050", "mobilenetv3"),
    ("timm:mobilenetv2_100.ra_in1k", "mobilenetv2"),
    ("paper:resnetv2_50x1_bitm", "resnetv2"),
    ("timm:tf_efficientnetv2_b0.in1k", "efficientnetv2"),
    ("efficientnet-lite:lite0", "efficientnet-lite"),
    ("timm:resnet18", "resnet"),
    ("timm:levit_128.fb_dist_in1k", "levit"),
    ("timm:convnext_tiny.fb_in1k", "convnext"),
    ("zoo:anti_2", "anti"),
])
def test_model_family(model, family):
    assert model_family(model) == family
