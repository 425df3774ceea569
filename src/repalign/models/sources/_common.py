"""Shared machinery of the model sources: the base class, safe weight loading, hub caches."""

from __future__ import annotations

import contextlib
import fnmatch
import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..._errors import DataNotFoundError, InputError
from ..._validation import optional_import, preview
from .._hashing import digest_json, sha256_file
from ..config import LoadedModel, ModelConfig
from ..options import ModelOptions

if TYPE_CHECKING:
    from ..resolve import Resolution

log = logging.getLogger(__name__)

__all__ = [
    "Source",
    "match_names",
    "torch_module",
    "load_state_dict_file",
    "apply_state_dict",
    "hash_weights",
    "hf_cached_file",
    "hf_cached_snapshot",
    "missing_weights_message",
    "seeded",
    "image_transform",
    "IMAGE_PREPROCESSING_KEYS",
    "merge_preprocessing",
    "last_linear_readout",
]

#: Keys of an image preprocessing configuration (timm's data config).
IMAGE_PREPROCESSING_KEYS: tuple[str, ...] = ("input_size", "interpolation", "mean", "std", "crop_pct", "crop_mode")


def torch_module(purpose: str = "Feature extraction") -> Any:
    return optional_import("torch", extra="torch", purpose=purpose)


class Source:
    """One kind of model id, ``<prefix>:<name>``.

    A source turns a name into a :class:`~repalign.models.ModelConfig` without building
    anything (:meth:`config`), builds the model (:meth:`load`), and lists what it knows
    (:meth:`available`). Heavy libraries are imported inside those methods only.
    """

    #: The id prefix, e.g. ``"timm"``.
    prefix: str = ""
    #: The ``repalign[...]`` extra that installs what it needs.
    extra: str = "torch"
    #: The modules it needs, for the error message when one is missing.
    requires: tuple[str, ...] = ("torch",)
    #: Image or text.
    modality: str = "image"
    #: One line for ``repalign models list --sources``.
    summary: str = ""
    #: An example id.
    example: str = ""

    def import_(self, module: str) -> Any:
        return optional_import(module, extra=self.extra, purpose=f"The {self.prefix!r} model source")

    def config(self, name: str, options: ModelOptions) -> ModelConfig:  # pragma: no cover - abstract
        """The configuration of ``<prefix>:<name>`` built with ``options``, without building the model."""
        raise NotImplementedError

    def resolve(self, requested: str, name: str) -> Resolution:
        """What ``<prefix>:<name>`` pins to (``requested`` is the id as given); default: itself."""
        from ..resolve import Resolution

        return Resolution(requested, f"{self.prefix}:{name}", "as-given")

    def weights_status(self, config: ModelConfig) -> dict[str, Any]:
        """Whether the weights of ``config`` are on this machine, never touching the network.

        Returns ``{"present": bool, "download_bytes": int or None, "where": str}``.
        """
        if config.weights == "random-init":
            return {"present": True, "download_bytes": 0, "where": "random initialisation (no weights)"}
        if config.weights_file:
            return {"present": True, "download_bytes": 0, "where": str(config.weights_file)}
        return {"present": False, "download_bytes": None, "where": "not on this machine"}

    def load(self, config: ModelConfig) -> LoadedModel:  # pragma: no cover - abstract
        raise NotImplementedError

    def available(self, pattern: str | None = None) -> list[str]:
        """Names this source can load here (without the prefix), matching ``pattern``."""
        return []

    # -- helpers shared by subclasses ---------------------------------------------
    def _make_config(
        self,
        name: str,
        options: ModelOptions,
        *,
        weights_file: str | None,
        preprocessing: Mapping[str, Any],
        provenance: Mapping[str, Any],
        default_layer: str = "penultimate",
        model_id: str | None = None,
        **fixed: Any,
    ) -> ModelConfig:
        """The :class:`ModelConfig` every source builds: id, weight hash, seed and build arguments
        follow from ``name``, ``options`` and ``weights_file`` the same way for all of them
        (``fixed`` overrides a derived field, e.g. ``weights_sha256=None`` until a build)."""
        kind = fixed.pop("weights", options.weights_kind)
        derived = {
            "weights_sha256": hash_weights(weights_file) if weights_file else None,
            "seed": int(options.seed) if kind == "random-init" else None,
            "modality": self.modality,
            "model_kwargs": dict(options.model_kwargs),
        }
        derived.update(fixed)
        return ModelConfig(
            model_id=model_id or f"{self.prefix}:{name}",
            source=self.prefix,
            name=name,
            weights=kind,
            weights_file=weights_file,
            **derived,
            preprocessing=dict(preprocessing),
            default_layer=default_layer,
            provenance=dict(provenance),
        )

    def _user_weights_file(self, options: ModelOptions) -> str | None:
        """The resolved path of ``options.weights`` (checked to exist), or None."""
        if options.weights is None:
            return None
        path = Path(options.weights).expanduser()
        if not path.is_file():
            raise DataNotFoundError(f"--weights {path}: no such file.")
        return str(path.resolve())



def match_names(names: list[str], pattern: str | None) -> list[str]:
    """Names matching a glob (``resnet*``), or containing ``pattern`` when it has no wildcard."""
    if not pattern:
        return names
    pat = pattern if any(c in pattern for c in "*?[") else f"*{pattern}*"
    return [n for n in names if fnmatch.fnmatchcase(n.lower(), pat.lower())]


# -- weights ----------------------------------------------------------------------
def load_state_dict_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a state dict safely: ``.safetensors`` with safetensors, anything else with
    ``torch.load(weights_only=True)`` (no arbitrary pickles). A checkpoint that wraps the
    state dict (``{"state_dict": ...}`` or ``{"model": ...}``) is unwrapped and a
    ``module.`` prefix (DataParallel) is removed.
    """
    torch = torch_module("Loading a weight file")
    p = Path(path)
    try:
        if p.suffix == ".safetensors":
            st = optional_import("safetensors.torch", extra="torch", purpose="Reading .safetensors weights")
            state = st.load_file(str(p), device="cpu")
        else:
            state = torch.load(str(p), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch/safetensors raise many types for a bad file
        raise InputError(
            f"{p}: cannot read it as a weight file (safetensors, or a PyTorch state dict readable "
            f"with weights_only=True): {type(exc).__name__}: {exc}"
        ) from exc
    for key in ("state_dict", "model", "module"):
        if isinstance(state, Mapping) and key in state and isinstance(state[key], Mapping):
            state = state[key]
            break
    if not isinstance(state, Mapping) or not all(isinstance(k, str) for k in state):
        raise InputError(f"{p}: does not hold a state dict (a mapping of parameter names to tensors).")
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return dict(state)


def apply_state_dict(module: Any, state: Mapping[str, Any], source: str) -> None:
    """``module.load_state_dict(state, strict=True)`` with an error that lists the mismatch."""
    missing = [k for k in module.state_dict() if k not in state]
    unexpected = [k for k in state if k not in module.state_dict()]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} parameters missing from the file ({preview(missing, 3)})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected entries ({preview(unexpected, 3)})")
        raise InputError(f"{source}: the weights do not fit this model: " + "; ".join(parts) + ".")
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise InputError(f"{source}: the weights do not fit this model: {exc}") from exc


def hash_weights(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a weight file, or of a folder (every file's relative name and hash)."""
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file() and ".git" not in f.parts)
        return digest_json([[f.relative_to(p).as_posix(), sha256_file(f)] for f in files])
    return sha256_file(p)


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed torch's generators for a random initialisation without disturbing the caller's."""
    torch = torch_module()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield


# -- Hugging Face hub cache ------------------------------------------------------------
def hf_cached_file(repo_id: str, filenames: tuple[str, ...], revision: str | None = None) -> str | None:
    """The first of ``filenames`` present in the local Hugging Face cache, or ``None``.

    Never touches the network. The cache folder follows ``HF_HUB_CACHE`` / ``HF_HOME``.
    """
    hub = optional_import("huggingface_hub", extra="torch", purpose="Finding cached hub weights")
    for filename in filenames:
        found = hub.try_to_load_from_cache(repo_id, filename, revision=revision)
        if isinstance(found, str) and os.path.isfile(found):
            return found
    return None


def hf_cached_snapshot(repo_id: str, revision: str | None = None) -> str | None:
    """The local snapshot folder of a hub repository, if its ``config.json`` (or
    ``modules.json``) is cached; never touches the network."""
    for marker in ("config.json", "modules.json", "open_clip_config.json"):
        found = hf_cached_file(repo_id, (marker,), revision)
        if found:
            return str(Path(found).parent)
    return None


def hf_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` is on (the environment, or huggingface_hub's own setting)."""
    value = os.environ.get("HF_HUB_OFFLINE", "").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    import sys

    constants = sys.modules.get("huggingface_hub.constants")
    return bool(getattr(constants, "HF_HUB_OFFLINE", False))


def missing_weights_message(model_id: str, *, hf_repo: str | None = None, url: str | None = None, extra: str = "") -> str:
    """How to get weights onto a machine without hub access."""
    lines = [f"{model_id}: the pretrained weights are not on this machine"]
    if hf_offline():
        lines[0] += " (HF_HUB_OFFLINE is set, so nothing is downloaded)"
    lines[0] += "."
    if hf_repo:
        cache_folder = "models--" + hf_repo.replace("/", "--")
        lines.append(
            f"On a machine with internet access run `huggingface-cli download {hf_repo}` (or load the "
            f"model once), then copy its cache folder `{cache_folder}` from ~/.cache/huggingface/hub into "
            "this machine's Hugging Face cache ($HF_HUB_CACHE, default ~/.cache/huggingface/hub) and set "
            "HF_HUB_OFFLINE=1."
        )
    if url:
        lines.append(
            f"Or download {url} and put it in torch's hub cache (~/.cache/torch/hub/checkpoints/), "
            "or pass it with --weights FILE."
        )
    else:
        lines.append("Or download the weight file and pass it with --weights FILE (safetensors or a state dict).")
    if extra:
        lines.append(extra)
    return " ".join(lines)


# -- preprocessing ---------------------------------------------------------------------
def merge_preprocessing(
    base: Mapping[str, Any], *, image_size: int | None, overrides: Mapping[str, Any] | None, source: str
) -> dict[str, Any]:
    """A copy of ``base`` with ``image_size`` and ``overrides`` applied, validated."""
    out = {k: (tuple(v) if isinstance(v, list) else v) for k, v in base.items()}
    if image_size is not None:
        if int(image_size) < 8:
            raise InputError(f"image_size={image_size}: must be at least 8 pixels.")
        out["input_size"] = (3, int(image_size), int(image_size))
    for key, value in (overrides or {}).items():
        if key not in IMAGE_PREPROCESSING_KEYS:
            raise InputError(
                f"{source}: unknown preprocessing key {key!r}; valid keys: {', '.join(IMAGE_PREPROCESSING_KEYS)}."
            )
        out[key] = tuple(value) if isinstance(value, list) else value
    for key in ("mean", "std"):
        if key in out and len(out[key]) != 3:
            raise InputError(f"{source}: preprocessing {key} must have 3 values (RGB); got {out[key]!r}.")
    if any(s <= 0 for s in out.get("std", (1, 1, 1))):
        raise InputError(f"{source}: preprocessing std must be positive; got {out['std']!r}.")
    return out


def image_transform(preprocessing: Mapping[str, Any]) -> Any:
    """timm's evaluation transform for a data config: resize, center crop, tensor, normalize."""
    timm_data = optional_import("timm.data", extra="torch", purpose="Image preprocessing")
    cfg = {k: preprocessing[k] for k in IMAGE_PREPROCESSING_KEYS if k in preprocessing}
    return timm_data.create_transform(**cfg, is_training=False)


def last_linear_readout(module: Any, *, source: str) -> tuple[str, Any]:
    """The input of the last ``nn.Linear`` in module order: the penultimate embedding of a classifier.

    Returns the submodule's name and a read-out ``f(module, x) -> (N, D) tensor`` that
    captures that input with a forward pre-hook.
    """
    torch = torch_module()
    last = None
    for name, sub in module.named_modules():
        if isinstance(sub, torch.nn.Linear):
            last = name
    if last is None:
        raise InputError(f"{source}: has no linear classifier, so it has no penultimate layer; use layer='output'.")
    target = module.get_submodule(last)

    def read(mod: Any, x: Any) -> Any:
        captured: list[Any] = []
        handle = target.register_forward_pre_hook(lambda _m, args: captured.append(args[0]))
        try:
            mod(x)
        finally:
            handle.remove()
        if not captured:
            raise InputError(f"{source}: the classifier {last!r} was not called in the forward pass.")
        return captured[-1].flatten(1)

    return last, read
