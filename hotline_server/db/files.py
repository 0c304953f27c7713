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

from pathlib import Path

from sqlalchemy.engine import make_url

from hotline.private_files import prepare_sqlite_file as prepare_sqlite_path
from hotline.private_files import private_dir

__all__ = ["prepare_sqlite_file", "private_dir", "sqlite_file"]


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
    """Before the first connection: the database file of ``url`` created empty as 0600 when
    missing, else it and any -wal/-shm beside it made 0600 (hotline.private_files)."""
    path = sqlite_file(url)
    if path is not None:
        prepare_sqlite_path(path)
