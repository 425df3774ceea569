"""Human data: the dataset registry, the download layer, and loaders for matrices,
images and triplets.

Submodules: :mod:`.fetch` (hash-checked, resumable downloads and safe extraction),
:mod:`.images` (exact, safe image loading).
"""
