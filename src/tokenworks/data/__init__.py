"""Packaged catalog data files (TOML and Hugging Face config.json); no code."""
