from pathlib import Path

import pytest

from sender.settings import SETTINGS, SettingsError, load_settings
from tests.test_cli import drip


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


# -- every value checked as it is read: one line naming the source, the key and what is allowed ----

TZ_ERROR = "default_timezone: unknown time zone 'Mars/Olympus' (use an IANA name like Europe/Lisbon)"
BATCH_ERROR = "batch_size: must be a whole number from 1 to 10,000, got {}"
LISTEN_ERROR = "listen: must be HOST:PORT with a port from 1 to 65535 (e.g. 127.0.0.1:8000), got {!r}"
DATABASE_ERROR = "database_url: must be sqlite:///PATH or postgresql+psycopg://USER@HOST/DB, got {!r}"


def test_an_unknown_default_time_zone_stops_tick_with_one_line(project: Path) -> None:
    config = project / "dripcourse.toml"
    config.write_text('default_timezone = "Mars/Olympus"\n')
    tick = drip("tick", cwd=project)
    assert (tick.returncode, tick.stderr) == (1, f"error: {config}: {TZ_ERROR}\n")
    config.unlink()
    flag = drip("-s", "default_timezone=Mars/Olympus", "tick", cwd=project)
    assert (flag.returncode, flag.stderr) == (1, f"error: --set: {TZ_ERROR}\n")


@pytest.mark.parametrize("value", [0, -5, 10_001])
def test_batch_size_must_be_a_positive_whole_number_up_to_ten_thousand(project: Path, value: int) -> None:
    # 0 used to claim nothing ever, and a negative size meant "no limit".
    flag = drip("-s", f"batch_size={value}", "tick", cwd=project)
    assert (flag.returncode, flag.stderr) == (1, f"error: --set: {BATCH_ERROR.format(value)}\n")
    config = project / "dripcourse.toml"
    config.write_text(f"batch_size = {value}\n")
    tick = drip("tick", cwd=project)
    assert (tick.returncode, tick.stderr) == (1, f"error: {config}: {BATCH_ERROR.format(value)}\n")


@pytest.mark.parametrize("value", ["nonsense", "127.0.0.1:http", "127.0.0.1:0", "127.0.0.1:65536",
                                   "two words:8000"])
def test_listen_must_be_host_and_port(tmp_path: Path, value: str) -> None:
    result = drip("-s", f"listen={value}", "settings", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (1, f"error: --set: {LISTEN_ERROR.format(value)}\n")


@pytest.mark.parametrize("value", ["127.0.0.1:8000", ":8000", "localhost:80", "0.0.0.0:65535", "::1:8000",
                                   "mail.example.org:8080"])
def test_listen_accepts_what_serve_can_bind_and_no_port_zero(tmp_path: Path, value: str) -> None:
    assert load_settings(tmp_path, overrides={"listen": value}, environ={}).listen == value
    with pytest.raises(SettingsError, match="must be HOST:PORT"):
        load_settings(tmp_path, overrides={"listen": value.rpartition(":")[0] + ":0"}, environ={})


@pytest.mark.parametrize("value", ["bogus://", "nonsense", "mysql://app@db/app", "sqlite:/one-slash.db",
                                   "postgresql+psycopg://app@db:port/app"])
def test_database_url_must_be_one_the_store_can_open(tmp_path: Path, value: str) -> None:
    result = drip("-s", f"database_url={value}", "status", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (1, f"error: --set: {DATABASE_ERROR.format(value)}\n")


def test_a_database_driver_that_is_not_installed_is_named_and_the_password_is_not(tmp_path: Path) -> None:
    import importlib.util

    if importlib.util.find_spec("psycopg2cffi") is not None:
        pytest.skip("psycopg2cffi is installed here")
    with pytest.raises(SettingsError) as caught:
        load_settings(tmp_path, environ={"DRIP_DATABASE_URL": "postgresql+psycopg2cffi://app:s3cret@db/app"})
    assert str(caught.value) == (
        "DRIP_DATABASE_URL: database_url: 'postgresql+psycopg2cffi://app:***@db/app' needs the psycopg2cffi "
        "driver, which is not installed; use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB "
        "(for PostgreSQL: pip install -e '.[postgres]')")


@pytest.mark.parametrize("url", ["sqlite:///dripcourse.db", "sqlite:////var/lib/drip/drip.db", "sqlite:///:memory:",
                                 "postgresql+psycopg://app:pw@db.example:5432/app"])
def test_database_urls_the_store_opens_are_accepted_and_mistyped_ones_not(tmp_path: Path, url: str) -> None:
    assert load_settings(tmp_path, environ={"DRIP_DATABASE_URL": url}).database_url == url
    with pytest.raises(SettingsError, match="database_url: must be sqlite:///PATH or postgresql"):
        load_settings(tmp_path, environ={"DRIP_DATABASE_URL": url.replace("://", ":", 1)})


@pytest.mark.parametrize(("environ", "overrides", "error"), [
    ({"DRIP_LISTEN": "8000"}, {}, "DRIP_LISTEN: listen: must be HOST:PORT with a port from 1 to 65535 "
                                  "(e.g. 127.0.0.1:8000), got '8000'"),
    ({"DRIP_TICK_SECONDS": "0"}, {},
     "DRIP_TICK_SECONDS: tick_seconds: must be a whole number from 1 to 86,400, got 0"),
    ({}, {"default_delay_days": "-1"}, "--set: default_delay_days: must be a whole number >= 0, got -1"),
    ({}, {"send_window": "11:00-09:00"}, "--set: send_window: send window 11:00-09:00 is empty"),
    ({}, {"send_weekdays": ""}, "--set: send_weekdays: no weekday is allowed"),
])
def test_every_source_is_checked_and_named(tmp_path: Path, environ: dict[str, str], overrides: dict[str, str],
                                           error: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(tmp_path, overrides=overrides, environ=environ)
    assert str(caught.value) == error


def test_settings_changed_in_code_are_checked_too(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(tmp_path, environ={}).replace(batch_size=0)
    assert str(caught.value) == f"code: {BATCH_ERROR.format(0)}"
