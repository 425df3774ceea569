"""Few-shot transfer on frozen features: the protocol of the paper's section 4.1.

* :func:`run_fewshot` -- splits x heads x seeds, the long results table and per-(head, n)
  means with Student-t intervals (:class:`FewShotResult`); :func:`run_fewshot_many` does the
  same for many models of the same examples in one batched pass;
* :func:`make_splits` -- class-balanced, disjoint, nested, reproducible splits;
* :func:`fit_logistic` / :func:`fit_logistic_batch` -- multinomial logistic regression at
  scikit-learn's optimum, fast (numpy on CPU, torch on GPU);
* :func:`train_heads` -- the dropout heads ``mlp1`` and ``mlp2`` (PyTorch), batched over seeds;
* :func:`load_cifar100`, :func:`load_image_folder`, :func:`load_image_set` -- labelled
  image sets (CIFAR-100 python release through a restricted unpickler, ImageFolder layouts);
* :func:`load_labelled_features` -- features files with labels.

Torch is imported only inside the functions that need it.
"""

from .datasets import ImageSet, load_cifar100, load_image_folder, load_image_set
from ..io.labels import LabelledFeatures, load_labelled_features
from .heads import HeadConfig, default_config, train_heads
from .probe import LogisticProbe, fit_logistic, fit_logistic_batch, logistic_objective
from .protocol import HEADS, RESULT_COLUMNS, FewShotResult, run_fewshot, run_fewshot_many, t_interval
from .splits import PAPER_SHOTS, FewShotSplit, make_splits

__all__ = [
    "HEADS",
    "PAPER_SHOTS",
    "RESULT_COLUMNS",
    "FewShotResult",
    "FewShotSplit",
    "HeadConfig",
    "ImageSet",
    "LabelledFeatures",
    "LogisticProbe",
    "default_config",
    "fit_logistic",
    "fit_logistic_batch",
    "load_cifar100",
    "load_image_folder",
    "load_image_set",
    "load_labelled_features",
    "logistic_objective",
    "make_splits",
    "run_fewshot",
    "run_fewshot_many",
    "t_interval",
    "train_heads",
]
