from pathlib import Path

import pytest

from sender.settings import SETTINGS, SettingsError, load_settings


def test_defaults_when_nothing_is_set(tmp_path: Path) -> None:
    s = load_settings(tmp_path, environ={})
    assert s.send_hour == 9
    assert s.sources["send_hour"] == "default"
    assert s.resolved_database_url == f"sqlite:///{tmp_path.resolve() / 'dripcourse.db'}"


def test_precedence_file_then_env_then_flag(tmp_path: Path) -> None:
    (tmp_path / "dripcourse.toml").write_text('send_hour = 7\nprovider = "console://"\n')
    s = load_settings(tmp_path, environ={})
    assert (s.send_hour, s.sources["send_hour"]) == (7, "dripcourse.toml")

    s = load_settings(tmp_path, environ={"DRIP_SEND_HOUR": "8"})
    assert (s.send_hour, s.sources["send_hour"]) == (8, "env DRIP_SEND_HOUR")
    assert s.provider == "console://"

    s = load_settings(tmp_path, overrides={"send_hour": "10"}, environ={"DRIP_SEND_HOUR": "8"})
    assert (s.send_hour, s.sources["send_hour"]) == (10, "flag --set")


def test_unknown_key_in_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "dripcourse.toml").write_text("sendhour = 7\n")
    with pytest.raises(SettingsError, match="unknown setting 'sendhour'"):
        load_settings(tmp_path, environ={})


def test_unknown_flag_and_bad_type(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="unknown setting 'nope'"):
        load_settings(tmp_path, overrides={"nope": "1"}, environ={})
    with pytest.raises(SettingsError, match="DRIP_SEND_HOUR: setting 'send_hour' must be int"):
        load_settings(tmp_path, environ={"DRIP_SEND_HOUR": "nine"})
    with pytest.raises(SettingsError, match="send_hour must be 0-23"):
        load_settings(tmp_path, overrides={"send_hour": "24"}, environ={})


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
