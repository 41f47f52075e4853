"""The command line as a shop's scripts and a fresh install use it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from esim_tui import __version__
from esim_tui.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"esim-tui {__version__}"
    with pytest.raises(SystemExit):
        main(["sandbox", "--help"])
    out = capsys.readouterr().out
    for option in ("--host", "--port", "--seed", "--speed", "--token", "--esimgo-key", "--scenario"):
        assert option in out


def test_python_dash_m_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "esim_tui", "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == f"esim-tui {__version__}"


def test_a_config_error_is_reported_with_file_and_key(tmp_path, capsys):
    bad = tmp_path / "c.toml"
    bad.write_text('[octopus]\nurll = "x"\n')
    assert main(["--config", str(bad), "orders"]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "octopus.urll" in err


@pytest.mark.slow
def test_a_non_editable_install_ships_the_styles_and_runs(tmp_path):
    """`pip install .` into a fresh virtual environment, then the commands a new shop runs first."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(env_dir)
    python = env_dir / "bin" / "python"
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.egg-info", ".pytest_cache", ".hypothesis"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    install = subprocess.run([str(python), "-m", "pip", "install", "-q", str(src)], capture_output=True, text=True, timeout=600, env=env)
    assert install.returncode == 0, install.stderr[-2000:]
    exe = env_dir / "bin" / "esim-tui"
    assert subprocess.run([str(exe), "--version"], capture_output=True, text=True, env=env, cwd=tmp_path).stdout.strip() == f"esim-tui {__version__}"
    helped = subprocess.run([str(exe), "sandbox", "--help"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert helped.returncode == 0 and "--scenario" in helped.stdout
    styles = subprocess.run(
        [str(python), "-c", "from esim_tui.ui.paths import stylesheets; print(*[p.name for p in stylesheets()])"],
        capture_output=True, text=True, env=env, cwd=tmp_path,
    )
    assert "app.tcss" in styles.stdout.split() and "site-packages" in subprocess.run(
        [str(python), "-c", "import esim_tui.ui.paths as p; print(p.styles_dir())"], capture_output=True, text=True, env=env, cwd=tmp_path
    ).stdout


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('[ui]\ntheme = "esim-light"\n[octopus\n', "line 3, column 9: not valid TOML: expected ']' at the end of a table declaration."),
        ('[ui]\nkeymap = { "buy" = "b" }\n', "line 2, key 'ui.keymap.buy': no key has the id 'buy'. The ids: app.keys,"),
        ('[ui]\nkeymap = { "confirm.buy" = "escape" }\n', "'escape' is the key of both 'confirm.buy' and 'confirm.back'"),
    ],
)
def test_a_config_mistake_stops_the_start_on_the_terminal_before_any_ui(tmp_path, text, said):
    bad = tmp_path / "config.toml"
    bad.write_text(text)
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"), "ESIM_TUI_CONFIG": str(bad), "TERM": "xterm-256color"}
    done = subprocess.run([sys.executable, "-m", "esim_tui"], capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)
    assert done.returncode == 2
    assert done.stderr.startswith(f"esim-tui: Configuration error in {bad}, ") and said in done.stderr
    assert done.stdout == ""  # no screen was painted: Textual would have written escape codes
