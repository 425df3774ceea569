"""Models and feature extraction: a registry of model sources, name resolution, a
streaming extractor and a content-addressed feature cache.

Importing this package imports neither torch nor any model library; they are imported
inside the functions that need them.

Model ids are ``source:name`` (see :mod:`repalign.models.sources`):
``timm:resnet50.a1_in1k``, ``paper:tf_efficientnet_b0_ns``, ``torchvision:resnet50``,
``open_clip:ViT-B-32/laion2b_s34b_b79k``, ``hf:facebook/dinov2-small``,
``sentence-transformers:all-MiniLM-L6-v2``, ``python:my_models:build``,
``efficientnet-lite:lite0``, ``zoo:noise-00`` (a synthetic zoo model). The settings of a
model (weights, seed, image size, preprocessing, zoo settings) travel as one
:class:`ModelOptions`.

Examples
--------
>>> from repalign.models import extract_features               # doctest: +SKIP
>>> feats = extract_features("efficientnet-lite:lite0", "peterson2018/images/animals")  # doctest: +SKIP
>>> human = repalign.load_representation("animals.csv")          # doctest: +SKIP
>>> repalign.compare(human, feats.to_representation())           # doctest: +SKIP
"""

from __future__ import annotations

from .cache import FeatureCache
from .config import LoadedModel, ModelConfig
from .extract import PRECISIONS, extract_features, load_model, model_config, resolve_device
from .features import ExtractedFeatures, LayeredFeatures, is_layered_file, load_features, load_layered_features
from .layers import POOLS
from .listing import list_models, list_sources
from .multilayer import extract_layers, list_layers, select_layers
from .options import ModelOptions
from .paper import Pin
from .resolve import Resolution, paper_pins
from .sources import resolve_name, resolve_names
from .sources import SOURCE_PREFIXES, get_source, parse_model_id
from .sources._zoo import DEFAULT_ZOO, synthetic_zoo, zoo_model_ids
from .stimuli import Stimuli, as_stimuli, image_stimuli, text_stimuli
from .sweep import align_layers, compare_layers
from .weights import weights_status

__all__ = [
    "ExtractedFeatures",
    "FeatureCache",
    "LayeredFeatures",
    "LoadedModel",
    "ModelConfig",
    "ModelOptions",
    "DEFAULT_ZOO",
    "POOLS",
    "PRECISIONS",
    "Pin",
    "Resolution",
    "SOURCE_PREFIXES",
    "Stimuli",
    "align_layers",
    "as_stimuli",
    "compare_layers",
    "extract_layers",
    "extract_features",
    "get_source",
    "image_stimuli",
    "is_layered_file",
    "list_layers",
    "list_models",
    "list_sources",
    "load_features",
    "load_layered_features",
    "load_model",
    "model_config",
    "paper_pins",
    "parse_model_id",
    "resolve_device",
    "resolve_name",
    "resolve_names",
    "select_layers",
    "synthetic_zoo",
    "zoo_model_ids",
    "text_stimuli",
    "weights_status",
]
