"""The app's themes: a default dark and light one and a high-contrast one for bright shops and tired eyes."""

from __future__ import annotations

from textual.theme import Theme

ESIM_DARK = Theme(
    name="esim-dark",
    primary="#3A9BDC",
    secondary="#7E57C2",
    accent="#F5A623",
    warning="#F5A623",
    error="#E5484D",
    success="#3FB950",
    background="#14171C",
    surface="#1C2028",
    panel="#252B36",
    dark=True,
    variables={"sandbox-badge": "#F5A623"},
)

ESIM_LIGHT = Theme(
    name="esim-light",
    primary="#0B63B6",
    secondary="#5E35B1",
    accent="#B25E00",
    warning="#B25E00",
    error="#C62828",
    success="#1B7F3A",
    background="#F7F8FA",
    surface="#FFFFFF",
    panel="#E6E9EF",
    dark=False,
    variables={"sandbox-badge": "#B25E00"},
)

ESIM_HIGH_CONTRAST = Theme(
    name="esim-high-contrast",
    primary="#FFFF00",
    secondary="#00FFFF",
    accent="#FFFF00",
    warning="#FFFF00",
    error="#FF5555",
    success="#00FF00",
    foreground="#FFFFFF",
    background="#000000",
    surface="#000000",
    panel="#1A1A1A",
    boost="#FFFFFF",
    dark=True,
    variables={"sandbox-badge": "#FFFF00", "block-cursor-foreground": "#000000", "block-cursor-background": "#FFFF00"},
)

THEMES = (ESIM_DARK, ESIM_LIGHT, ESIM_HIGH_CONTRAST)
