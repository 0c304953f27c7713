"""The footer of the desk's screens: Textual's Footer, rebuilt only when what it shows changes.

Textual's Footer removes and remounts all its keys whenever the screen's bindings are
updated, which happens on every focus change (twice: blur, focus), though moving from one
form field to the next changes none of the keys it shows. On the intake form that is a
rebuild of ~10 widgets and two layouts of the whole screen per Tab, paid by the first key
typed in the next field. Here the footer rebuilds only when the keys it would show differ.

When only whether keys are enabled changed (the desk's own keys, dimmed while the cache
opens at start), the keys drawn are dimmed or undimmed where they are: a restyle of those
keys, the same size, no rebuild and no layout of the screen.

Its keys also start in the footer's own compact setting. Textual's ``FooterKey`` starts
compact and is then bound to the footer's setting (not compact): each bound key restyled itself
twice, with its two component classes, right after being styled as it mounted (~45 of the
~260 ``Stylesheet.apply`` calls of the desk's start).
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


def shown_keys(screen: Screen[Any]) -> tuple[Any, ...]:
    """What the footer draws for ``screen`` now: its shown bindings (with their state and
    tooltip) and the command palette's key."""
    active = screen.active_bindings
    palette = active.get(screen.app.COMMAND_PALETTE_BINDING)
    keys = tuple(
        (b.key, b.action, b.description, b.key_display, b.group, enabled, tooltip)
        for (_, b, enabled, tooltip) in active.values()
        if b.show
    )
    if palette is None:
        return keys
    return (*keys, (palette.binding.key, palette.binding.action, palette.enabled))


# where a key of shown_keys says whether it is enabled: a binding's (7 items), the palette's (3)
_ENABLED_AT = {7: 5, 3: 2}


class DeskFooter(Footer):
    _drawn: tuple[Any, ...] | None = None
    _check_pending = False

    def bindings_changed(self, screen: Screen[Any]) -> None:
        if not screen.app.app_focus or not self.is_attached or screen is not self.screen:
            super().bindings_changed(screen)  # Textual's own checks: nothing is rebuilt
            return
        self.set_reactive(Footer._bindings_ready, True)
        # Compared once the screen has settled (after its next refresh), as Textual's own
        # footer recomposes: a focus that passes through a widget on its way (a screen's
        # first focus, then the one its on_mount gives) changes the keys and changes them
        # back, and is no rebuild, where comparing at each change made two.
        if not self._check_pending:
            self._check_pending = True
            self.call_after_refresh(self._redraw_if_changed)

    async def _redraw_if_changed(self) -> None:
        self._check_pending = False
        if not self.is_attached or not self.app.app_focus:
            return
        keys = shown_keys(self.screen)
        if keys == self._drawn:
            return
        drawn, self._drawn = self._drawn, keys
        if drawn is not None and self._set_enabled(drawn, keys):
            return
        await self.recompose()

    def _set_enabled(self, drawn: tuple[Any, ...], keys: tuple[Any, ...]) -> bool:
        """The keys drawn dimmed or undimmed in place when ``keys`` differ from ``drawn``
        only in which are enabled; False (nothing done) for any other difference."""
        if len(drawn) != len(keys):
            return False
        enabled: dict[tuple[str, str], bool] = {}
        for old, new in zip(drawn, keys, strict=True):
            at = _ENABLED_AT[len(new)]
            if len(old) != len(new) or old[:at] + old[at + 1 :] != new[:at] + new[at + 1 :]:
                return False
            enabled[(new[0], new[1])] = new[at]
        drawn_keys = list(self.query(FooterKey))
        if any((key.key, key.action) not in enabled for key in drawn_keys):
            return False
        for key in drawn_keys:
            on = enabled[(key.key, key.action)]
            key._disabled = not on
            key.set_class(not on, "-disabled")
        return True

    def compose(self) -> ComposeResult:
        if not self._bindings_ready and self.is_attached and self.app.app_focus:
            # Its first compose, as its screen composes: the keys are drawn now, with the
            # screen's first layout, instead of by a second compose and a second layout of
            # the whole screen after the first focus (which changes none of them).
            self.set_reactive(Footer._bindings_ready, True)
            self._drawn = shown_keys(self.screen)
        for widget in super().compose():
            self._start_as_footer(widget)
            yield widget

    def _start_as_footer(self, widget: Widget) -> None:
        """A key bound to the footer's compact setting (``data_bind``: all but the command
        palette's, which keeps its own) starts with that setting before it mounts, so the
        binding changes nothing; then the same for a group's keys."""
        bound = (widget._reactive_connect or {}).get("compact")
        if isinstance(widget, FooterKey) and bound is not None:
            source, reactive = bound
            value = bool(getattr(source, reactive.name))
            widget.set_reactive(FooterKey.compact, value)
            widget.set_class(value, "-compact", update=False)
        for child in widget._pending_children:
            self._start_as_footer(child)
