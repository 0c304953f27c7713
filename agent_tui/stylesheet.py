"""The desk's stylesheet: Textual's, without parsing the same CSS again for nothing.

Textual re-parses every CSS source from scratch on each ``App.refresh_css``: it sets the
variables (which empties the parse cache) and parses all sources into a fresh stylesheet. A
start does that three times (the theme set, the intake mode's screen and its switch), and
every screen with CSS of its own pushed later (a dialog) once more: ~20 sources, 40-100 ms
each time on this machine, though the variables are the ones the CSS was parsed with.

Here the parse cache is emptied only when the variables really change (a theme switch), so
a re-parse with the same variables reuses the rules of the sources already parsed and
parses only new ones. A parse's result depends only on the source and the variables, so
the rules are the same; a source with errors still raises on every re-parse.
"""

from __future__ import annotations

from textual.css.stylesheet import Stylesheet


class DeskStylesheet(Stylesheet):
    def set_variables(self, variables: dict[str, str]) -> None:
        if variables == self._variables:
            return  # the parsed rules (the cache) are still right
        super().set_variables(variables)

    def reparse(self) -> None:
        # The cache holds only rules parsed with the current variables (set_variables
        # empties it when they change). Sources that failed are parsed, and raise, again.
        self._invalid_css = set()
        self.parse()
