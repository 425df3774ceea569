"""The version of repalign (one place: the package, setuptools and provenance records read it)."""

__version__ = "0.1.0"
