"""What screens share: a worker that fails unexpectedly is told to the agent, and the keys of a
search box that drives a list below it.

Textual posts ``Worker.StateChanged`` to the worker's own node and does not bubble it, so without
this a screen's failed worker would vanish silently."""

from __future__ import annotations

import logging

from textual import events
from textual.binding import Binding
from textual.dom import DOMNode
from textual.worker import Worker, WorkerState

from esim_tui.domain.errors import EsimTuiError

log = logging.getLogger(__name__)


def report_worker_failure(node: DOMNode, event: Worker.StateChanged) -> None:
    if event.state is not WorkerState.ERROR:
        return
    error = event.worker.error
    if isinstance(error, EsimTuiError):
        message = error.message
    else:  # its class name means nothing at the counter: the log keeps it for whoever looks after the app
        log.error("A task of %s failed unexpectedly", type(node).__name__, exc_info=error)
        message = "Something unexpected went wrong; the order records are safe and the log beside the order file says more."
    node.app.notify(message, title="Problem", severity="error", timeout=15, markup=False)


def key_label(node: DOMNode, binding_id: str) -> str:
    """The key of ``binding_id`` (a binding of ``node`` or of its screen) as the footer shows it, after the
    config's keymap: for a button's label ("Buy (b)") and the text that says which key to press."""
    app = node.app
    keys = [key for key, bindings in type(node)._merge_bindings().key_to_bindings.items() if any(b.id == binding_id for b in bindings)]
    if not keys:
        raise KeyError(binding_id)
    remapped = getattr(app, "_keymap", {}).get(binding_id)  # Textual remaps its binding chain with it, the same way
    key = remapped.split(",")[0].strip() if remapped else keys[0]
    shown = app.get_key_display(Binding(key, ""))
    return shown.capitalize() if shown.isalnum() and len(shown) > 1 else shown  # "Esc", "F5"; "y", "^b" as they are


class SaysWhyNot:
    """Mix into a Screen that hides a key while it cannot act (``check_action`` False): pressing it
    anyway says why (``why_not``) instead of doing nothing the agent can see."""

    def why_not(self, action: str) -> str | None:
        return None

    def on_key(self, event: events.Key) -> None:
        for node, bindings in self._binding_chain:  # type: ignore[attr-defined]  # remapped by the keymap
            if node is not self:
                continue
            for binding in bindings.key_to_bindings.get(event.key, ()):
                action = binding.action.split("(", 1)[0]
                if not self.check_action(action, ()) and (why := self.why_not(action)):  # type: ignore[attr-defined]
                    self.app.notify(why, severity="warning", markup=False)  # type: ignore[attr-defined]
                    event.stop()
                    return


class ShowsWorkerFailures:
    """Mix into a Screen whose workers may fail."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_failure(self, event)  # type: ignore[arg-type]


def list_keys(scope: str) -> list[Binding]:
    """Up, Down, Page Up and Page Down move the list while the search box keeps focus (the screen's
    ``action_move`` and ``action_page``); hidden from the footer, remappable as ``<scope>.down`` etc."""
    return [
        Binding("down", "move(1)", "Next", show=False, id=f"{scope}.down"),
        Binding("up", "move(-1)", "Previous", show=False, id=f"{scope}.up"),
        Binding("pagedown", "page(1)", show=False, id=f"{scope}.page_down"),
        Binding("pageup", "page(-1)", show=False, id=f"{scope}.page_up"),
    ]


class TypesIntoSearch:
    """Mix into a Screen with a search box (``SEARCH`` is its selector, an Input made with
    ``select_on_focus=False`` so the first letter is kept): a letter or digit typed while a list
    below it has focus goes into the search, so typing always finds."""

    SEARCH = "Input"

    def on_key(self, event: events.Key) -> None:
        search = self.query_one(self.SEARCH)  # type: ignore[attr-defined]
        if self.focused is not search and event.is_printable and event.character and not event.character.isspace():  # type: ignore[attr-defined]
            search.focus()
            search.insert_text_at_cursor(event.character)
            event.stop()
