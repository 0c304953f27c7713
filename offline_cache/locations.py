"""Where agent-tui keeps its files, per operating system (platformdirs, app "agent-tui").

``AGENT_TUI_HOME`` overrides the root for everything (tests and portable installs): then
config, data and logs live in ``$AGENT_TUI_HOME/{config,data,log}``. ``agent-tui locate``
prints these paths so an agent or an admin can find the cache without reading code.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from hotline.private_files import private_dir

APP_NAME = "agent-tui"
HOME_ENV = "AGENT_TUI_HOME"
DEFAULT_PROFILE = "default"
_PROFILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_profile(profile: str) -> str:
    """A profile name becomes part of a file name: letters, digits, ``_.-``, up to 64."""
    if not _PROFILE_RE.match(profile) or ".." in profile:
        raise ValueError(
            f"profile {profile!r}: use 1-64 letters, digits, '_', '.', '-' (not starting with "
            "'.' or '-')"
        )
    return profile


@dataclass(frozen=True)
class Locations:
    """The directories of one installation. Nothing is created until :meth:`ensure`."""

    config_dir: Path
    data_dir: Path
    log_dir: Path

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    def cache_path(self, profile: str = DEFAULT_PROFILE) -> Path:
        """The encrypted cache database of ``profile`` (one per profile: own key, own queue)."""
        return self.data_dir / f"cache-{check_profile(profile)}.db"

    def ensure(self) -> Locations:
        """Create the directories, user-only (0700, also when they already existed: the
        cache holds personal data). Their parents (``~/.config``, ``$AGENT_TUI_HOME``) are
        not the app's and keep their modes."""
        for d in (self.config_dir, self.data_dir, self.log_dir):
            private_dir(d)
        return self


def locations(home: str | os.PathLike[str] | None = None) -> Locations:
    """The locations from ``home``, else ``$AGENT_TUI_HOME``, else the platform's dirs."""
    root = home if home is not None else os.environ.get(HOME_ENV) or None
    if root is not None:
        base = Path(root)
        return Locations(base / "config", base / "data", base / "log")
    return Locations(
        Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
    )
