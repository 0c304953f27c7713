"""The command palette in the desk's language, found by binding id too.

Textual's own palette commands (theme, quit, keys, maximize, screenshot) come with English
titles; :func:`translated` gives them the desk's words, and leaves any command it does not
know as it is. :class:`DeskCommands` matches what is typed against a command's title *and*
its help line, where the desk puts the binding id (``intake.dispatch · f4``), so an agent who
knows an action by its id (from ``agent-tui keys`` or a keymap file) finds it by that id.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import SystemCommand
from textual.command import Hit, Hits
from textual.system_commands import SystemCommandsProvider

from agent_tui.i18n import t

# Textual's English title -> (i18n key of the title, {English help: i18n key of the help})
BUILT_IN: dict[str, tuple[str, dict[str, str]]] = {
    "Theme": ("palette.theme", {"Change the current theme": "palette.theme.help"}),
    "Quit": ("palette.quit", {"Quit the application as soon as possible": "palette.quit.help"}),
    "Keys": (
        "palette.keys",
        {
            "Show help for the focused widget and a summary of available keys": (
                "palette.keys.show"
            ),
            "Hide the keys and widget help panel": "palette.keys.hide",
        },
    ),
    "Maximize": ("palette.maximize", {"Maximize the focused widget": "palette.maximize.help"}),
    "Minimize": (
        "palette.minimize",
        {"Minimize the widget and restore to normal size": "palette.minimize.help"},
    ),
    "Screenshot": (
        "palette.screenshot",
        {"Save an SVG 'screenshot' of the current screen": "palette.screenshot.help"},
    ),
}


def translated(commands: Iterable[SystemCommand]) -> Iterable[SystemCommand]:
    """Textual's built-in commands with the desk's titles and help lines."""
    for command in commands:
        known = BUILT_IN.get(command.title)
        if known is None:
            yield command
            continue
        title_key, helps = known
        help_key = helps.get(command.help)
        yield command._replace(title=t(title_key), help=t(help_key) if help_key else command.help)


class DeskCommands(SystemCommandsProvider):
    """The app's system commands, matched by title or by the help line (the binding id)."""

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback, *_ in self.app.get_system_commands(self.screen):
            by_title = matcher.match(title)
            by_help = matcher.match(help_text) if help_text else 0
            score = max(by_title, by_help)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(title) if by_title >= by_help else title,
                    callback,
                    help=matcher.highlight(help_text) if by_help > by_title else help_text,
                )
