"""What every screen with workers shares: a worker that fails unexpectedly is told to the agent.

Textual posts ``Worker.StateChanged`` to the worker's own node and does not bubble it, so without
this a screen's failed worker would vanish silently."""

from __future__ import annotations

from textual.dom import DOMNode
from textual.worker import Worker, WorkerState

from esim_tui.domain.errors import EsimTuiError


def report_worker_failure(node: DOMNode, event: Worker.StateChanged) -> None:
    if event.state is not WorkerState.ERROR:
        return
    error = event.worker.error
    message = error.message if isinstance(error, EsimTuiError) else f"Unexpected error: {type(error).__name__}. The order records are safe."
    node.app.notify(message, title="Problem", severity="error", timeout=15, markup=False)


class ShowsWorkerFailures:
    """Mix into a Screen whose workers may fail."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_failure(self, event)  # type: ignore[arg-type]
