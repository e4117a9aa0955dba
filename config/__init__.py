"""Default settings shipped with lurker (TOML files in this folder)."""
