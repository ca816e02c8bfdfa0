"""Calibration files: read a user's (or ``tokenworks calibrate``'s) TOML, write one atomically.

The table layout and its checks are in ``tokenworks.perf.calibration`` (``parse_calibration``,
``calibration_to_toml``); this module only touches files.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from tokenworks.errors import ConfigError
from tokenworks.files import read_text, write_atomic
from tokenworks.perf.calibration import (
    Calibration,
    calibration_to_toml,
    packaged_calibration,
    parse_calibration,
)

__all__ = ["load_calibration", "read_calibration", "save_calibration"]


def read_calibration(path: str | Path) -> Calibration:
    """Read and check a calibration TOML file (``ConfigError`` naming the file and the fix)."""
    p = Path(path)
    text = read_text(p, what="calibration file",
                     fix="Pass a file written by `tokenworks calibrate`, or omit it to use the "
                         "packaged calibration.")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"calibration file {p} is not valid TOML: {e}.") from None
    return parse_calibration(raw, str(p))


def load_calibration(path: str | Path | None = None) -> Calibration:
    """A calibration file, or the packaged fit when ``path`` is None."""
    return packaged_calibration() if path is None else read_calibration(path)


def save_calibration(cal: Calibration, path: str | Path) -> Path:
    """Write ``cal`` as TOML to ``path`` atomically (``load_calibration`` reads it back)."""
    return write_atomic(path, calibration_to_toml(cal))
