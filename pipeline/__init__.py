"""lurker: a netnography pipeline for Chinese B2B trading forums."""

__version__ = "0.1.0"
