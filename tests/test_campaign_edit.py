"""The send-time editor (`sender.campaign_edit`, behind the console's send-times page)
accepts exactly what `load_campaign` accepts, because both check a value with the same
schema, and writes only the lines of the keys it changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sender.campaign import CampaignError, ScheduleTable, TimingRules, load_campaign
from sender.campaign_edit import form_rules, save_timing
from sender.settings import load_settings

# (key, what staff type): good values and each kind of mistake
TYPED = [("delay", "3"), ("delay", "-1"), ("delay", "2.5"), ("delay", "²"), ("delay_hours", "0"),
         ("delay_hours", "x"), ("window", "09:00-11:00"), ("window", "9-11"), ("window", "11:00-09:00"),
         ("weekdays", "mon-fri"), ("weekdays", "funday"), ("timezone", "Europe/Lisbon"),
         ("timezone", "Mars/Base")]


def _mini(project: Path) -> Path:
    return project / "campaigns" / "mini"


@pytest.mark.parametrize(("key", "typed"), TYPED)
def test_the_form_refuses_a_schedule_value_exactly_when_load_campaign_does(project: Path, key: str,
                                                                           typed: str) -> None:
    toml = _mini(project) / "campaign.toml"
    # The file as staff would write the value by hand: a whole number bare, anything else quoted.
    value = int(typed) if key in ("delay", "delay_hours") and typed.isdecimal() else typed
    toml.write_text(toml.read_text() + f"\n[schedule]\n{key} = {json.dumps(value)}\n")
    try:
        load_campaign(_mini(project))
        loads = True
    except CampaignError:
        loads = False
    try:
        form_rules({f"campaign:{key}": typed}, "campaign:", ScheduleTable, "campaign.toml: [schedule]")
        accepted = True
    except CampaignError:
        accepted = False
    assert accepted == loads


def test_a_refused_value_is_named_by_file_and_key() -> None:
    with pytest.raises(CampaignError) as caught:
        form_rules({"02-next:delay": "-1"}, "02-next:", TimingRules, "02-next.md: timing")
    assert str(caught.value) == "02-next.md: timing: 'delay' must be a whole number of days >= 0, got '-1'"
    with pytest.raises(CampaignError) as caught:
        form_rules({"02-next:window": "9-11"}, "02-next:", TimingRules, "02-next.md: timing")
    assert str(caught.value) == "02-next.md: timing: send window '9-11' must look like 09:00-11:00"
    assert form_rules({"x:delay": " 4 ", "x:window": ""}, "x:", TimingRules, "x") == {"delay": 4}


def test_saving_changes_only_the_lines_of_the_rules_and_a_refusal_changes_nothing(project: Path) -> None:
    folder = _mini(project)
    settings = load_settings(project, environ={})
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    form = {"01-start:delay": "0", "02-next:delay": "2", "03-last:delay": "3",
            "02-next:window": "18:00-20:00", "campaign:timezone": "Europe/Lisbon"}
    assert save_timing(load_campaign(folder), form, settings) == ["02-next.md", "campaign.toml"]
    assert (folder / "02-next.md").read_text() == (
        "---\nsubject: The second thing\npreheader: More of the tiny course\ndelay: 2\n"
        'window: "18:00-20:00"\n---\nBody two.\n')
    assert (folder / "campaign.toml").read_bytes() == before["campaign.toml"] + (
        b'\n[schedule]\ntimezone = "Europe/Lisbon"\n')
    assert (folder / "01-start.md").read_bytes() == before["01-start.md"]

    saved = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(CampaignError, match="send window 11:00-09:00 is empty"):
        save_timing(load_campaign(folder), {**form, "03-last:window": "11:00-09:00"}, settings)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == saved
