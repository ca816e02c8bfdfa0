"""Reading users' files and writing outputs safely: the checks every file edge shares.

A file a user names may be missing, a folder, unreadable, binary, or not UTF-8; an output path
may sit in a folder that does not exist. Each case raises the caller's error class
(``ConfigError`` by default) naming the path, what it was meant to be and the fix, before any
long computation starts. Outputs are written atomically (a temporary file in the same folder,
then ``os.replace``), so a failed or interrupted run never leaves a half-written file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from tokenworks.errors import ConfigError

__all__ = ["check_input_file", "check_output_path", "read_text", "write_atomic",
           "writing_atomically"]

# NOTE: a user file larger than this is refused before it is read (scenario, calibration and
# config files are kilobytes; traces and measurements are read line by line elsewhere).
MAX_TEXT_BYTES = 64 * 2**20


def check_input_file(path: str | Path, *, what: str, error: type[ConfigError] = ConfigError,
                     fix: str = "") -> Path:
    """``path`` as a Path if it names an existing, readable regular file; else ``error``."""
    p = Path(path).expanduser()
    tail = f" {fix}" if fix else ""
    if not p.exists():
        raise error(f"{what} {p} does not exist; check the path.{tail}")
    if p.is_dir():
        raise error(f"{what} {p} is a folder, not a file; give the path of the file itself.{tail}")
    if not os.access(p, os.R_OK):
        raise error(f"{what} {p} cannot be read (permission denied); check its permissions.")
    return p


def read_text(path: str | Path, *, what: str, error: type[ConfigError] = ConfigError,
              fix: str = "") -> str:
    """The UTF-8 text of a user's file, with one clear error for each way it can fail."""
    p = check_input_file(path, what=what, error=error, fix=fix)
    size = p.stat().st_size
    if size > MAX_TEXT_BYTES:
        raise error(f"{what} {p} is {size / 2**20:,.0f} MiB; a {what} is at most "
                    f"{MAX_TEXT_BYTES / 2**20:,.0f} MiB of text. Is this the right file?")
    data = p.read_bytes()
    if b"\x00" in data[:8192]:
        raise error(f"{what} {p} is a binary file, not text; give the text file "
                    f"({_expected(what)}).")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise error(f"{what} {p} is not UTF-8 text (byte {e.start} cannot be decoded); save "
                    f"it as UTF-8 ({_expected(what)}).") from None


def _expected(what: str) -> str:
    w = what.lower()
    if "scenario" in w:
        return "YAML or TOML"
    if "calibration" in w:
        return "TOML, as written by tokenworks calibrate"
    if "trace" in w:
        return "CSV or JSONL"
    if "config" in w:
        return "a Hugging Face config.json"
    return "text"


def check_name_length(path: str | Path, *, what: str,
                      error: type[ConfigError] = ConfigError) -> Path:
    """``path`` as a ``Path``, refused when the file system could not hold its name (a part
    over 255 bytes, or over 4,096 in all): asking the OS about it would raise ``OSError``."""
    p = Path(path).expanduser()
    if any(len(part.encode()) > 255 for part in p.parts) or len(str(p).encode()) > 4096:
        raise error(f"{what} {str(p)[:60]}…: a file name longer than 255 bytes cannot exist "
                    f"here; choose a shorter name.")
    return p


def check_output_path(path: str | Path, *, what: str, suffixes: Sequence[str] = (),
                      error: type[ConfigError] = ConfigError) -> Path:
    """Check, before any work, that ``path`` can be written: the extension is one of
    ``suffixes`` (if given), it is not a folder, and its folder exists and is writable."""
    p = check_name_length(path, what=what, error=error)
    if p.is_dir():
        raise error(f"{what} {p} is a folder; give a file name inside it, e.g. "
                    f"{p / ('out' + (suffixes[0] if suffixes else ''))}.")
    if suffixes and p.suffix.lower() not in suffixes:
        raise error(f"{what} {p} has extension '{p.suffix}'; use {', '.join(suffixes)}.")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.exists():
        raise error(f"{what} {p}: the folder {parent} does not exist; create it first "
                    f"(mkdir -p {parent}) or choose another path.")
    if not parent.is_dir():
        raise error(f"{what} {p}: {parent} is a file, not a folder; choose another path.")
    if not os.access(parent, os.W_OK):
        raise error(f"{what} {p}: the folder {parent} is not writable; choose another path.")
    return p


@contextlib.contextmanager
def writing_atomically(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` (atomic
    rename), on an exception it is removed and ``path`` is left as it was."""
    p = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent or ".")
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically; return the path."""
    p = Path(path)
    with writing_atomically(p) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return p
