"""The desk's two themes: a calm default and a high-contrast one for long shifts and low vision.

High contrast keeps every foreground/background pair near black-on-white extremes and marks
state with bold and reverse as well as colour, so red tickets stay visible to colour-blind
agents and on washed-out laptop panels.
"""

from __future__ import annotations

from textual.theme import Theme

DESK = Theme(
    name="desk",
    primary="#1F6FEB",
    secondary="#8957E5",
    accent="#1F6FEB",
    warning="#D29922",
    error="#F85149",
    success="#3FB950",
    foreground="#E6EDF3",
    background="#0D1117",
    surface="#161B22",
    panel="#21262D",
    dark=True,
)

HIGH_CONTRAST = Theme(
    name="desk-high-contrast",
    primary="#FFFF00",
    secondary="#00FFFF",
    accent="#FFFF00",
    warning="#FFAA00",
    error="#FF3333",
    success="#00FF00",
    foreground="#FFFFFF",
    background="#000000",
    surface="#000000",
    panel="#1A1A1A",
    boost="#333333",
    dark=True,
    luminosity_spread=0.0,
    text_alpha=1.0,
    variables={"border": "#FFFFFF", "input-selection-background": "#FFFF00 60%"},
)

THEMES = (DESK, HIGH_CONTRAST)
