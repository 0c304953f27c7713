"""The places where the desk overrides Textual's own code, for a keystroke's cost and the start.

The first two and ``SameSizeResize`` override a private method of Textual (checked against
Textual 8.2.8), on the intake screen only (``IntakeScreen``: its compositor, this module's
``CachedBindingChain`` and ``SameSizeResize``); ``mounted_without_layout`` stands in for
one Textual callback when the app installs a screen that says so (the intake screen).
``tests/tui/test_desk_textual_overrides.py`` fails if Textual's version of any of them
changes (read the new one, check the reasoning below still holds, then update the hashes
here), and checks what each promises on the real intake screen. The third (``QuietFocus``)
redeclares one reactive of Textual's ``Screen``; ``tests/tui/test_desk_quiet_updates.py``
checks Textual's declaration and what the terminal shows after each focus move.

**A frame renders only the widgets on the changed lines** (``LineCompositor``). Textual's
compositor paints a partial update (a key typed into a field changes one line) by asking
every widget whose *clip* overlaps the changed area for all of its visible lines. A widget's
clip is its container's viewport, so every child of the screen (status bar, footer, the
form's body) and every row of the form's container overlaps any change in the form: ~30
widgets were rendered (cache hits, but each pays its background colours and style
preamble) for a one-line change, ~45% of a key's CPU on the UI thread, and their lines
outside the changed area were thrown away (an update writes only the changed spans).
Here only the widgets whose visible part overlaps the changed area are asked, and only for
the lines of that area. What reaches the terminal is the same: an update writes only the
spans inside the changed area, and every cell of them still comes from the front-most
widget covering it (the chops are cut at widget edges; all columns of a line are rendered,
so those cuts stay whole). Widgets are visited front first and the first strip for a cut
wins, so a widget whose columns on every changed line are already taken by widgets in
front of it (the screen, the form's containers and the row behind a field) would give
nothing: it is not asked either (3 widgets per key instead of 6). A full frame (the first
one, a resize, a layout) and screenshots (``render_strips``) are Textual's own code.

**The key's binding chain is worked out once per focus** (``CachedBindingChain``). Each key
asks the screen for its binding chain (focused widget up to the app): Textual copies every
node's bindings, filters the keys the focused widget consumes, and re-applies the keymap to
each node (``apply_keymap``, ~8% of a key's CPU), though none of it changes while the focus
stays in one field. Here the chain is kept while the focused widget, its ancestors, their
binding maps and the app's keymap stay the same, and made again by Textual when any of them
changes. Callers only read the maps (``App._check_bindings``, ``Screen.active_bindings``);
each gets its own list.

**Moving the focus does not repaint the whole screen** (``QuietFocus``). Textual's
``Screen.focused`` is a reactive that repaints the screen when it changes: every visible
widget of the intake form is drawn again (~5 ms of the UI thread a move, 25-80 ms the first
time on a loaded machine), though nothing the screen itself draws depends on the focus. What
does change is redrawn by its own widgets: the field losing and the field taking the focus
refresh themselves (their ``:focus`` styles, the cursor), and the containers whose
``:focus-within`` styles change are restyled by ``Screen._update_focus_styles``, which
refreshes each node whose styles changed. A full repaint draws every other widget from its
own cache, which is what the terminal already shows. Here ``focused`` is the same reactive
without the repaint (its watcher, which refreshes the bindings, still runs).

**A resize to the size the screen is laid out at lays nothing out** (``SameSizeResize``).
Textual's app keeps the terminal's size report even when the size did not change and sends
it to the screen on top at its next idle; a screen lays itself out whole on every resize it
receives. At start the app gets two reports of one size (the driver's and its own), and
each reached the intake screen while its widgets were still reporting their first sizes
(each widget asks for a layout when its size is first set, from its own task): the
first resize laid the screen out with some of those requests in, the second after the
first frame with the rest (~6 ms of the UI thread at 120x40), where the screen, left to
itself, lays out once when it is next idle with all of them. Here a resize to the size of
the screen's last layout does nothing itself: a layout widgets asked for is still done, by
the screen when it is idle, as Textual does without a resize; a real resize is Textual's
own.

**A screen installed by the app is not laid out again for having mounted**
(``mounted_without_layout``, used by ``DeskApp.call_next``). When the app installs a screen
(a mode's first screen) it schedules the screen's ``AwaitMount``, which waits for the screen
to be mounted and then asks the screen for a layout of the whole screen. A screen is mounted
once its ``compose`` and its children are (all of them, awaited in its compose); the
``ScreenResume`` Textual posts with the install is handled after that and lays the screen out
with every child there. The ``AwaitMount``'s request came after it, at start after the first
frame: a third layout of the intake form (~6 ms of the UI thread at 120x40) and a repaint of
the screen, changing nothing. Here, for a screen that says so (``LAID_OUT_ON_RESUME``), the
app waits for the mount as Textual does and updates the mouse-over (what Textual does after
its layout request), without the request. Widgets mounted later (a toast, a form's rows) ask
for their layout as before: this is only the screen's own mount.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

from textual._compositor import Compositor
from textual.binding import BindingsMap
from textual.dom import DOMNode, NoScreen
from textual.geometry import Region, Size
from textual.reactive import Reactive
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import AwaitMount, Widget

# sha256 of inspect.getsource() of the Textual methods overridden here, as read for this
# module (Textual 8.2.8): Compositor._get_renders, Screen._binding_chain (its getter),
# Screen._screen_resized, and what mounted_without_layout stands in for (AwaitMount.__await__,
# scheduled by App._get_screen)
TEXTUAL_SOURCES = {
    "Compositor._get_renders": "8ac93299aa5d3bef43b3924a9d09741de8855d9c4823502bcf304fbd8fd40f17",
    "Screen._binding_chain": "003c1b578e69d2cfbb4418c4f2755fb47d6ff3afc37ec8da2f57b2ab7b39afeb",
    "Screen._screen_resized": "9ac8cd9df56307829154c091a9e9b0b4bfa5eece40941ddb994165fe51f5e895",
    "AwaitMount.__await__": "db0b05446e2c7293d3b813b7e3d0c588465f83953c6daf7408ced601c40a620a",
    "App._get_screen": "e253c005c0065e2380759eaeee126861cb7fb7e3bfa027cbfc81f14b539d3d8c",
}


class LineCompositor(Compositor):
    """Textual's compositor, rendering only what a partial update can show (module doc)."""

    def _get_renders(
        self, crop: Region | None = None
    ) -> Iterable[tuple[Region, Region, list[Strip]]]:
        if crop is None or crop.contains_region(self.size.region):
            yield from super()._get_renders(crop)  # a full frame: Textual's own
            return
        make_region = Region
        intersection = Region.intersection
        crop_y, crop_bottom = crop.y, crop.bottom
        crop_overlaps = crop.overlaps
        # the column spans already rendered on each line of the update, front widgets first
        painted: dict[int, list[tuple[int, int]]] = {}
        for widget, (region, clip) in self.visible_widgets.items():
            if not crop_overlaps(intersection(region, clip)):
                continue  # none of its cells is in the update
            top = max(clip.y, crop_y)
            line_clip = make_region(clip.x, top, clip.width, min(clip.bottom, crop_bottom) - top)
            x, y, width, height = intersection(region, line_clip)
            if width and height:
                lines = range(y, y + height)
                if all(_covered(painted.get(line), x, x + width) for line in lines):
                    continue  # hidden behind widgets in front of it on every line
                for line in lines:
                    painted.setdefault(line, []).append((x, x + width))
                yield (
                    region,
                    line_clip,
                    widget.render_lines(make_region(x - region.x, y - region.y, width, height)),
                )


def _covered(spans: list[tuple[int, int]] | None, start: int, end: int) -> bool:
    """Whether the column spans cover every column from ``start`` to ``end``."""
    if not spans:
        return False
    reach = start
    for left, right in sorted(spans):
        if left > reach:
            return False
        reach = max(reach, right)
        if reach >= end:
            return True
    return False


class CachedBindingChain(Screen[Any]):
    """A screen whose binding chain is made once per focus (module doc)."""

    _chain_key: tuple[Any, ...] | None = None
    _chain: tuple[tuple[DOMNode, BindingsMap], ...] = ()

    @property
    def _binding_chain(self) -> list[tuple[DOMNode, BindingsMap]]:
        focused = self.focused
        nodes = (self, self.app) if focused is None else tuple(focused.ancestors_with_self)
        key = (
            focused is not None and focused.loading,
            getattr(focused, "read_only", None),  # a read-only TextArea consumes no key
            tuple((node, node._bindings, len(node._bindings.key_to_bindings)) for node in nodes),
            tuple(self.app._keymap.items()),
        )
        if key != self._chain_key:
            self._chain = tuple(super()._binding_chain)
            self._chain_key = key
        return list(self._chain)


class QuietFocus(Screen[Any]):
    """A screen that is not repainted whole when the focus moves (module doc)."""

    focused: Reactive[Widget | None] = Reactive(None, repaint=False)


class SameSizeResize(Screen[Any]):
    """A screen not laid out again by a resize to the size it is laid out at (module doc)."""

    def _screen_resized(self, size: Size) -> None:
        laid_out = self._compositor.size
        if size == laid_out and laid_out and not self.app.is_inline:
            # laid out at this size already (the compositor starts at 0x0); a layout that
            # widgets asked for since is done when the screen is next idle, as without
            # a resize
            return
        super()._screen_resized(size)


def mounted_without_layout(callback: Any) -> Any:
    """``callback`` as the app should run it after the current message (module doc): the
    ``AwaitMount`` of a screen's own mount, for a screen with ``LAID_OUT_ON_RESUME``, as a
    wait for the mount without the layout request; anything else unchanged."""
    if not isinstance(callback, AwaitMount):
        return callback
    screen = callback._parent
    if not (
        isinstance(screen, Screen)
        and getattr(screen, "LAID_OUT_ON_RESUME", False)
        and list(callback._widgets) == [screen]
    ):
        return callback

    async def mounted() -> None:
        await screen._mounted_event.wait()
        with contextlib.suppress(NoScreen):
            screen.app._update_mouse_over(screen)

    return mounted
