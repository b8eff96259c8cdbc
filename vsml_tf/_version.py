"""The package version: the one source (pyproject.toml and vsml_tf.__version__ read it)."""

__version__ = "0.2.0"
