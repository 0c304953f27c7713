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

**New sources are added to the rules, not the rules made again.** A widget class mounted
for the first time adds its ``DEFAULT_CSS`` (and its bases'), and Textual then rebuilds the
whole rule list from every source and the selector map (``rules_map``) from every rule at
the next styling: 13 times while the intake screen mounts (a new class in each field row's
mount), ~7 ms of the UI thread for rules that did not change. Here, when the sources parsed
last time are still the first ones, unchanged and in the same order (the only way Textual
adds a source is at the end), the new sources' rules are appended to the list and to the
map, in the order a full parse gives them; anything else (a source changed or gone, new
variables) is Textual's full parse.

**A source is parsed once, whatever its tie-breaker.** Textual adds a widget class's
``DEFAULT_CSS`` with a tie-breaker (its place among the mounted class's bases) and parses
the same text again for every other tie-breaker it meets it with: while the intake
screen mounts, ``Widget``'s three times, ``Static``'s three, ``Screen``'s, ``Select``'s and four
more twice (~10 parses of ~30 at start). A parse's rules differ between tie-breakers only in
their ``tie_breaker``: the parser gives a rule set the source's tie-breaker times its nesting
level (a top-level rule 1x, a rule nested in it 2x...) and uses it for nothing else. So the
first parse of a source is made with tie-breaker 1 (the levels read off it, then kept), and
a parse with tie-breaker ``t`` is those rules, made again with ``level * t`` (the selectors,
styles and errors shared, as the parser itself shares a nested rule's styles).

**Rule sets hashed in C.** Textual's ``RuleSet`` hashes by identity with a Python method
(``return id(self)``), and every styling of a node hashes its candidate rules into a set and
then every rule of the stylesheet against it (~150 rules on the intake screen, ~100 stylings
before its first frame: ~11,000 Python calls, ~1-3 ms). The desk's rule sets are ``DeskRuleSet``:
the same fields and rules, hashed by identity by ``object.__hash__``.
"""

from __future__ import annotations

from typing import Any

from textual.css.model import RuleSet
from textual.css.stylesheet import Stylesheet, StylesheetErrors, StylesheetParseError


class DeskRuleSet(RuleSet):
    """Textual's rule set, hashed by identity without a Python call (module docstring)."""

    __hash__ = object.__hash__


def _desk_rule_set(rule: RuleSet, tie_breaker: int) -> DeskRuleSet:
    return DeskRuleSet(
        rule.selector_set,
        rule.styles,
        rule.errors,
        is_default_rules=rule.is_default_rules,
        tie_breaker=tie_breaker,
        selector_names=rule.selector_names,
        pseudo_classes=rule.pseudo_classes,
    )


class DeskStylesheet(Stylesheet):
    # The sources (location, CssSource) the rules were made from, in order; None: none yet,
    # or the next parse must be a full one (the variables changed).
    _parsed: list[tuple[Any, Any]] | None = None
    # The selector map of those rules, kept when a new source empties Textual's.
    _map_of_parsed: dict[str, list[Any]] | None = None

    def __init__(self, *, variables: dict[str, str] | None = None) -> None:
        super().__init__(variables=variables)
        # (css, read_from, is_default_rules, scope) -> the rules parsed with tie-breaker 1,
        # for the other tie-breakers (module docstring); emptied with the parse cache
        self._levels: dict[tuple[Any, ...], list[RuleSet]] = {}

    def set_variables(self, variables: dict[str, str]) -> None:
        if variables == self._variables:
            return  # the parsed rules (the cache) are still right
        super().set_variables(variables)
        self._parsed = None
        self._map_of_parsed = None
        self._levels = {}

    def _parse_rules(
        self,
        css: str,
        read_from: Any,
        is_default_rules: bool = False,
        tie_breaker: int = 0,
        scope: str = "",
    ) -> list[RuleSet]:
        key = (css, read_from, is_default_rules, tie_breaker, scope)
        try:
            return self._parse_cache[key]
        except KeyError:
            pass
        source = (css, read_from, is_default_rules, scope)
        unit = self._levels.get(source)
        if unit is None:  # each rule's tie_breaker here is its nesting level
            unit = super()._parse_rules(css, read_from, is_default_rules, 1, scope)
            self._levels[source] = unit
        rules = [_desk_rule_set(rule, rule.tie_breaker * tie_breaker) for rule in unit]
        self._parse_cache[key] = rules
        return rules

    def reparse(self) -> None:
        # The cache holds only rules parsed with the current variables (set_variables
        # empties it when they change). Sources that failed are parsed, and raise, again.
        if self._invalid_css:
            self._parsed = None  # a full parse: those sources are among the parsed ones
        self._invalid_css = set()
        self.parse()

    def add_source(self, *args: Any, **kwargs: Any) -> None:
        kept = self._rules_map
        super().add_source(*args, **kwargs)
        if self._rules_map is None and kept is not None:
            self._map_of_parsed = kept

    def parse(self) -> None:
        sources = list(self.source.items())
        parsed = self._parsed
        if parsed is None or sources[: len(parsed)] != parsed:
            self._parsed = None
            self._map_of_parsed = None
            super().parse()
            self._parsed = sources
            return
        added = []
        for read_from, (css, is_default_rules, tie_breaker, scope) in sources[len(parsed) :]:
            if css in self._invalid_css:
                continue
            # as Textual's parse does, source by source
            try:
                rules = self._parse_rules(
                    css,
                    read_from=read_from,
                    is_default_rules=is_default_rules,
                    tie_breaker=tie_breaker,
                    scope=scope,
                )
            except Exception:
                self._invalid_css.add(css)
                raise
            if any(rule.errors for rule in rules):
                self._invalid_css.add(css)
                raise StylesheetParseError(StylesheetErrors(rules))
            added.extend(rules)
        self._rules = [*self._rules, *added]
        self._require_parse = False
        rules_map = self._rules_map if self._rules_map is not None else self._map_of_parsed
        self._map_of_parsed = None
        if rules_map is not None:
            for rule in added:
                for name in rule.selector_names:
                    rules_map.setdefault(name, []).append(rule)
        self._rules_map = rules_map
        self._parsed = sources
