"""F1: the keys of the screen at hand and of the app, each with the binding id the config remaps it by.

Textual's own key panel lists the focused text box's editing keys first (a search box has some thirty);
the counter wants the app's keys, and the id to put under ``[ui] keymap`` to change one.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Static


@dataclass(frozen=True)
class Key:
    group: str  # "Sell", "Orders", "eSIM"... or "Everywhere"
    key: str  # as the footer shows it
    what: str
    binding_id: str


def keys_of(screen: Screen) -> list[Key]:
    """The bindings ``screen`` answers to now (its own, its widgets', the app's) that have an id:
    the app's keys. Text boxes' editing keys have none and are left out."""
    app = screen.app
    found: list[Key] = []
    seen: set[str] = set()
    for active in screen.active_bindings.values():
        binding = active.binding
        if not binding.id or binding.id in seen:
            continue
        seen.add(binding.id)
        node = active.node
        group = "Everywhere" if node is app else _group_title(node, screen)
        found.append(Key(group, app.get_key_display(binding), binding.description or binding.action, binding.id))
    # The screen's own keys first, the app's last; within a group, as the screen lists them.
    return sorted(found, key=lambda k: k.group == "Everywhere")


def _group_title(node: object, screen: Screen) -> str:
    """A widget's keys under its own title, else under its screen's (the list of the plans screen is
    "Plans"): never a class name, which means nothing at the counter."""
    return getattr(node, "BINDING_GROUP_TITLE", None) or screen.BINDING_GROUP_TITLE or "This screen"


class KeysScreen(ModalScreen[None]):
    BINDING_GROUP_TITLE = "Keys"
    BINDINGS = [Binding("escape,f1", "close", "Close", id="keys.close")]

    def __init__(self, keys: list[Key]) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="keys-box", classes="dialog"):
            yield Static("Keys", classes="screen-title", markup=False)
            yield Static(self._table())
            yield Static(
                'Remap a key in the config file by its id, e.g. [ui] keymap = { "confirm.buy" = "b" }.',
                classes="hint",
                markup=False,
            )
        yield Footer()

    def _table(self) -> Table:
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False, expand=True)
        for name in ("Where", "Key", "Does", "Id"):
            table.add_column(name, no_wrap=name != "Does")
        group = None
        for key in self.keys:
            # Text, not markup: a description is shown literally.
            table.add_row(Text(key.group if key.group != group else ""), Text(key.key), Text(key.what), Text(key.binding_id, style="dim"))
            group = key.group
        return table

    def action_close(self) -> None:
        self.dismiss(None)
