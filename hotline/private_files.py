"""User-only files and folders for what the desk and the server keep: the desk's cache and
the server's database hold citizens' personal data (the server's also the password hashes),
config.toml the last user name, an export the day's tickets. One module for both, so the
desk's cache and the server's SQLite file are made private the same way.

Files are 0600 and the app's own folders 0700 whatever the umask is (a mode given to
``open``/``mkdir`` is only a request that the umask narrows further; a folder that already
existed keeps its old mode unless it is changed), so each helper sets the mode explicitly.
Only folders the app owns go through :func:`private_dir`: never a folder a user named, which
may be shared or be their home.
"""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def private_dir(path: Path) -> Path:
    """Create the app's own folder ``path`` (and missing parents) and make it 0700, also when
    it already existed with wider modes."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    os.chmod(path, DIR_MODE)
    return path


def tighten(path: Path) -> None:
    """Make an existing file 0600; a missing file, or one on a read-only disk or not ours,
    is left as it is (opening it then says what is wrong, in the caller's words)."""
    with suppress(OSError):
        os.chmod(path, FILE_MODE)


def prepare_sqlite_file(path: Path) -> None:
    """Before SQLite opens ``path``: create it empty as 0600 if missing, else tighten it and
    the -wal/-shm/-journal left beside it. SQLite gives the -wal and -shm it creates later
    the main file's mode, so they come out 0600 too."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        pass
    except OSError:
        return  # a read-only or missing folder: SQLite's own open reports it
    else:
        os.close(fd)
    for suffix in ("", *SQLITE_SIDE_FILES):
        tighten(Path(str(path) + suffix))


def write_private(path: Path, content: bytes) -> None:
    """Write ``path`` whole-or-nothing as a 0600 file: a ``.part`` file, made user-only
    before any byte goes in, then renamed over the target."""
    tmp = path.with_name(path.name + ".part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.chmod(tmp, FILE_MODE)  # a .part left over from a crash may have another mode
        with os.fdopen(fd, "wb") as out:
            fd = -1
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
    finally:
        if fd != -1:
            os.close(fd)
    os.replace(tmp, path)
