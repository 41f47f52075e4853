"""Settings: file, environment, --db; errors name the file and the key; secrets stay secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from esim_tui.config import ConfigError, load_settings
from esim_tui.config_file import peek


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_config_means_the_sandbox(tmp_path):
    settings = load_settings(None, environ={})
    assert settings.uses_sandbox
    assert settings.order_file().name == "orders.json"


def test_file_then_environment_then_db_option(tmp_path):
    path = write(tmp_path, '[octopus]\nurl = "http://127.0.0.1:8765"\ntoken = "from-file"\n[store]\npath = "/srv/a.json"\n')
    settings = load_settings(path, environ={"ESIM_TUI_OCTOPUS_TOKEN": "from-env"}, db=tmp_path / "b.json")
    assert settings.octopus.url == "http://127.0.0.1:8765"
    assert settings.octopus.token.get_secret_value() == "from-env"
    assert settings.order_file() == tmp_path / "b.json"
    assert not settings.uses_sandbox


def test_esim_tui_config_and_db_variables(tmp_path):
    path = write(tmp_path, '[esimgo]\napi_key = "k"\n')
    settings = load_settings(environ={"ESIM_TUI_CONFIG": str(path), "ESIM_TUI_DB": str(tmp_path / "o.json")})
    assert settings.esimgo.api_key.get_secret_value() == "k"
    assert settings.order_file() == tmp_path / "o.json"


def test_secrets_never_show_in_reprs(tmp_path):
    settings = load_settings(None, environ={"ESIM_TUI_OCTOPUS_TOKEN": "tok-123", "ESIM_TUI_ESIMGO_API_KEY": "key-456"})
    text = repr(settings) + str(settings) + settings.model_dump_json()
    assert "tok-123" not in text and "key-456" not in text


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[octopus]\ntokn = "x"\n', "octopus.tokn"),
        ('[ui]\ntheme = "neon"\n', "ui.theme"),
        ('[balance]\nwarn_below = "lots"\n', "balance.warn_below"),
    ],
)
def test_errors_name_the_file_and_the_key(tmp_path, text, key):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    assert str(path) in caught.value.message and f"'{key}'" in caught.value.message


def test_a_wrong_value_is_told_with_its_line(tmp_path):
    path = write(tmp_path, '# the shop\n[ui]\nexport_folder = "~/x"\ntheme = "neon"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    assert f"{path}, line 4, key 'ui.theme':" in caught.value.message


def test_invalid_toml_says_what_is_wrong_and_where(tmp_path):
    path = write(tmp_path, '[ui]\ntheme = "esim-light"\n[octopus\n')
    with pytest.raises(ConfigError) as caught:
        peek(path, environ={})  # before the first paint, as the app starts
    message = caught.value.message
    assert message.startswith(f"Configuration error in {path}, line 3, column 9: not valid TOML: expected ']'")
    assert "(file)" not in message and "(at line" not in message


def test_a_named_config_file_that_is_missing_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(environ={"ESIM_TUI_CONFIG": str(tmp_path / "nope.toml")})


# ---------------------------------------------------------------- the first look, before validation


@pytest.mark.parametrize(
    ("keymap", "said"),
    [
        ('{ "buy" = "b" }', "key 'ui.keymap.buy': no key has the id 'buy'. The ids: app.keys,"),
        ('{ "delivery.new_sale" = "c" }', "'c' is the key of both 'delivery.copy' and 'delivery.new_sale'"),
        ('{ "detail.refresh" = "f2" }', "'f2' is the key of both 'app.orders' and 'detail.refresh'"),
    ],
)
def test_an_unknown_binding_id_or_a_clash_names_the_id_and_lists_the_valid_ones(tmp_path, keymap, said):
    from esim_tui.ui.keymap import check_keymap

    path = write(tmp_path, f"[ui]\nkeymap = {keymap}\n")
    with pytest.raises(ConfigError) as caught:
        check_keymap(peek(path, environ={}).keymap, path)
    message = caught.value.message
    assert f"{path}, line 2" in message and said in message
    assert "confirm.buy" in message and "detail.export" in message and "table.choose" in message  # the valid ids


def test_a_keymap_that_swaps_keys_or_remaps_to_a_free_one_is_fine(tmp_path):
    from esim_tui.ui.keymap import check_keymap

    check_keymap({"delivery.new_sale": "c", "delivery.copy": "k", "confirm.buy": "b", "keys.close": "escape"})


def test_the_documented_keymap_example_uses_ids_that_exist():
    import inspect
    import re

    from esim_tui import config
    from esim_tui.ui.keymap import binding_scopes

    valid = {binding_id for ids in binding_scopes().values() for binding_id in ids}
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    examples = re.findall(r'keymap = \{ ?"([a-z_.]+)" = "', inspect.getsource(config) + readme)
    assert len(examples) >= 2 and set(examples) <= valid


def test_first_look_reads_what_the_first_screen_needs(tmp_path):
    path = write(tmp_path, '[ui]\ntheme = "esim-light"\nkeymap = { "confirm.buy" = "b" }\n[store]\npath = "/srv/shop/orders.json"\n')
    look = peek(path, environ={"ESIM_TUI_ESIMGO_API_KEY": "k"})
    assert look.theme == "esim-light" and look.keymap == {"confirm.buy": "b"}
    assert look.order_file == Path("/srv/shop/orders.json")
    assert look.providers == ("esimgo",) and not look.on_sandbox
    # The validated settings agree on where the orders go.
    assert load_settings(path, environ={"ESIM_TUI_ESIMGO_API_KEY": "k"}).order_file() == look.order_file


def test_first_look_on_the_sandbox_uses_the_sandbox_order_file(tmp_path):
    look = peek(None, environ={}, db=tmp_path / "orders.json")
    assert look.on_sandbox and look.providers == ("esimgo", "octopus")
    assert look.order_file == tmp_path / "orders-sandbox.json"
    forced = peek(None, environ={"ESIM_TUI_OCTOPUS_TOKEN": "t"}, db=tmp_path / "orders.json", force_sandbox=True)
    assert forced.on_sandbox and forced.order_file == tmp_path / "orders-sandbox.json"


@pytest.mark.parametrize("text", ['ui = "dark"\n', '[ui]\ntheme = 3\nkeymap = "b"\n', "store = 1\n"])
def test_first_look_falls_back_on_odd_values_that_validation_then_reports(tmp_path, text):
    path = write(tmp_path, text)
    look = peek(path, environ={})
    assert look.theme == "esim-dark" and look.keymap == {}
    with pytest.raises(ConfigError):
        load_settings(path, environ={})


def test_first_look_reports_a_file_that_cannot_be_parsed(tmp_path):
    path = write(tmp_path, "[octopus\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        peek(path, environ={})


def test_the_keymap_check_reads_the_ids_from_beside_the_order_file_and_imports_no_screen(tmp_path):
    """The check runs before the first paint: after the first start with a keymap it costs a file read,
    not the screens' imports (pydantic among them)."""
    import subprocess
    import sys

    config = write(tmp_path, '[ui]\nkeymap = { "confirm.buy" = "b" }\n')
    cache = tmp_path / "orders.keys.json"
    code = (
        "import sys; from pathlib import Path; import esim_tui.cli, esim_tui.ui.app; "
        "from esim_tui.ui.keymap import check_keymap; "
        f"check_keymap({{'confirm.buy': 'b'}}, Path({str(config)!r}), Path({str(cache)!r})); "
        "print('pydantic' in sys.modules)"
    )
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    assert cache.is_file() and (first.stdout.strip(), again.stdout.strip()) == ("True", "False")
    from esim_tui.ui.keymap import check_keymap

    with pytest.raises(ConfigError, match="no key has the id 'buy'"):  # the cached ids still tell a mistake
        check_keymap({"buy": "b"}, config, cache)
    cache.write_text("not json")  # damaged: collected again
    with pytest.raises(ConfigError, match="'c' is the key of both 'delivery.copy' and 'delivery.new_sale'"):
        check_keymap({"delivery.new_sale": "c"}, config, cache)


def test_the_shops_locale_defaults_to_english_and_an_unknown_one_is_named(tmp_path):
    assert load_settings(None, environ={}).ui.locale == "en"
    assert load_settings(write(tmp_path, '[ui]\nlocale = "de-CH"\n'), environ={}).ui.locale == "de_CH"
    path = write(tmp_path, '[ui]\nlocale = "klingon"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    assert str(path) in caught.value.message and "'ui.locale'" in caught.value.message and "'klingon' is not a locale" in caught.value.message
