"""User-only modes for a SQLite server database: the file holds every citizen's ticket and
the password hashes, so it, its -wal and -shm are 0600 and the server's own data folder 0700.

Modes are set explicitly, not left to the umask (which only narrows what ``open``/``mkdir``
ask for, and never touches a file or folder that already exists). SQLite gives the -wal and
-shm it creates the main file's mode, so a 0600 database makes 0600 side files.

A folder named in ``--database sqlite:////some/dir/x.db`` is the administrator's: it may be
shared (``/srv``, ``/tmp``) or be someone's home, and its modes may be there on purpose, so
the server tightens only the database file in it and never chmods that folder. The server
creates no such folder (SQLite refuses a path whose folder is missing); the one folder it
creates and owns is the default data dir (:func:`private_dir`), made 0700 also when it
already existed.
"""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path

from sqlalchemy.engine import make_url

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """Create the server's own folder ``path`` and make it 0700, also if it existed."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    os.chmod(path, DIR_MODE)
    return path


def sqlite_file(url: str) -> Path | None:
    """The database file of a ``sqlite:`` URL; None for memory and ``file:`` URI forms."""
    parsed = make_url(url)
    database = parsed.database
    if (
        not database
        or database == ":memory:"
        or parsed.query.get("uri")
        or (database.startswith("file:"))
    ):
        return None
    return Path(database)


def prepare_sqlite_file(url: str) -> None:
    """Before the first connection: create the database file empty as 0600 when missing,
    else make it and any -wal/-shm beside it 0600. A folder that is missing or read-only is
    left for SQLite to report in its own error."""
    path = sqlite_file(url)
    if path is None:
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        pass
    except OSError:
        return
    else:
        os.close(fd)
    for suffix in ("", "-wal", "-shm", "-journal"):
        with suppress(OSError):
            os.chmod(Path(str(path) + suffix), FILE_MODE)
