from pathlib import Path

import pytest

from sender.settings import SETTINGS, SettingsError, load_settings


def test_defaults_when_nothing_is_set(tmp_path: Path) -> None:
    s = load_settings(tmp_path, environ={})
    assert s.send_window == "09:00-11:00"
    assert s.sources["send_window"] == "default"
    assert s.resolved_database_url == f"sqlite:///{tmp_path.resolve() / 'dripcourse.db'}"


def test_precedence_file_then_env_then_flag(tmp_path: Path) -> None:
    (tmp_path / "dripcourse.toml").write_text('batch_size = 7\nprovider = "console://"\n')
    s = load_settings(tmp_path, environ={})
    assert (s.batch_size, s.sources["batch_size"]) == (7, "dripcourse.toml")

    s = load_settings(tmp_path, environ={"DRIP_BATCH_SIZE": "8"})
    assert (s.batch_size, s.sources["batch_size"]) == (8, "env DRIP_BATCH_SIZE")
    assert s.provider == "console://"

    s = load_settings(tmp_path, overrides={"batch_size": "10"}, environ={"DRIP_BATCH_SIZE": "8"})
    assert (s.batch_size, s.sources["batch_size"]) == (10, "flag --set")


def test_unknown_key_in_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "dripcourse.toml").write_text("sendhour = 7\n")
    with pytest.raises(SettingsError, match="unknown setting 'sendhour'"):
        load_settings(tmp_path, environ={})


def test_unknown_flag_and_bad_type(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="unknown setting 'nope'"):
        load_settings(tmp_path, overrides={"nope": "1"}, environ={})
    with pytest.raises(SettingsError, match="DRIP_BATCH_SIZE: setting 'batch_size' must be int"):
        load_settings(tmp_path, environ={"DRIP_BATCH_SIZE": "nine"})
    with pytest.raises(SettingsError, match="send_window: send window '9-5' must look like 09:00-11:00"):
        load_settings(tmp_path, overrides={"send_window": "9-5"}, environ={})
    with pytest.raises(SettingsError, match="unknown weekday 'funday'"):
        load_settings(tmp_path, environ={"DRIP_SEND_WEEKDAYS": "mon,funday"})


def test_secrets_only_from_environment(tmp_path: Path) -> None:
    (tmp_path / "dripcourse.toml").write_text('signing_key = "oops"\n')
    with pytest.raises(SettingsError, match="secret; set it with DRIP_SIGNING_KEY"):
        load_settings(tmp_path, environ={})
    (tmp_path / "dripcourse.toml").unlink()
    assert load_settings(tmp_path, environ={"DRIP_SIGNING_KEY": "k"}).signing_key == "k"


def test_every_setting_is_documented() -> None:
    names = [s.name for s in SETTINGS]
    assert len(names) == len(set(names))
    assert all(s.help.strip() for s in SETTINGS)
