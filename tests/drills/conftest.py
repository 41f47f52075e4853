"""The drills' sandbox: served on loopback, shut down without waiting for answers held back by faults."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import ServedSandbox


@pytest.fixture
def served(served_sandbox: ServedSandbox) -> Iterator[ServedSandbox]:
    yield served_sandbox
    # A killed client leaves the sandbox holding a delayed answer; do not wait for it at shutdown.
    served_sandbox.server.force_exit = True
