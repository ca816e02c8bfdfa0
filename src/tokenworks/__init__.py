"""tokenworks: model the AI token factory end to end.

The public API is listed in ``__all__`` and pinned by ``tests/test_public_api.py``.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
