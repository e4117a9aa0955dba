"""lurker: a netnography pipeline for Chinese B2B trading forums."""

from pipeline.netguard import install_from_env

__version__ = "0.1.0"

# Tests (and anyone who asks) run every lurker process in loopback-only mode.
install_from_env()
