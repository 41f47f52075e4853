"""`esim-tui sandbox` says at start where it listens and which credentials it takes, ready to paste."""

from __future__ import annotations

import uvicorn

from esim_tui.cli import main


def test_the_served_sandbox_banner_gives_the_token_and_key_it_accepts(monkeypatch, capsys):
    served = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.append(options))
    assert main(["sandbox", "--port", "9876", "--token", "shop-test-token", "--esimgo-key", "go-key-7"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert served and served[0]["port"] == 9876
    assert "  Octopus Cards: ESIM_TUI_OCTOPUS_URL=http://127.0.0.1:9876  ESIM_TUI_OCTOPUS_TOKEN=shop-test-token" in lines
    assert "  eSIM Go:       ESIM_TUI_ESIMGO_URL=http://127.0.0.1:9876/v2.4  ESIM_TUI_ESIMGO_API_KEY=go-key-7" in lines
    assert not any("<--" in line for line in lines)  # no placeholder to fill in
