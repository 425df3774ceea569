"""The built-in datasets: one module each, found by listing this package.

Every module here defines ``ADAPTER``, a :class:`~repalign.data.adapters.DatasetAdapter`
(see :mod:`repalign.data.adapters`). Adding a dataset is adding one module; nothing else
is edited. Modules import only the standard library and :mod:`repalign.data.adapters` at
their top, so listing the datasets stays fast; they read files inside their methods.

========================= ========== ========== =============================================
module                    kind       role       what
========================= ========== ========== =============================================
``peterson2018``          matrices   human      Peterson et al. (2018), six image domains
``things``                triplets   human      THINGS odd-one-out triplets, SPoSE embedding
``lee``                   matrices   human      Lee's collection of 52 similarity matrices
``cifar100``              images     transfer   the CIFAR-100 python release (few-shot)
========================= ========== ========== =============================================
"""
