"""The console's send-times page: each lesson's send-time rules (front matter) and the
campaign's ([schedule] in campaign.toml), validated as `drip` validates them and written
back in place by `sender.campaign_edit`."""

from __future__ import annotations

from typing import Any

import werkzeug
from flask import flash, redirect, request, url_for

from sender.campaign import SCHEDULE_KEYS, TIMING_KEYS, Campaign, CampaignError
from sender.campaign_edit import files_version, save_timing, shown
from sender.web import drip
from sender.web.console import bp, page
from sender.web.console.campaigns import read_campaign


def _timing_rows(campaign: Campaign) -> list[dict[str, Any]]:
    from sender.web.preview_emails import describe_timing

    engine = drip().engine
    return [{"lesson": lesson, "values": {k: shown(lesson.timing.get(k)) for k in TIMING_KEYS},
             "rule": describe_timing(engine.timing(campaign, lesson), lesson.position)}
            for lesson in campaign.lessons]


@bp.route("/campaigns/<slug>/timing", methods=["GET", "POST"])
def timing(slug: str) -> werkzeug.Response | tuple[str, int]:
    """Each lesson's send-time rules (front matter) and the campaign's ([schedule] in
    campaign.toml), validated as `drip` validates them, written back in place."""
    campaign = read_campaign(slug)
    context: dict[str, Any] = {
        "title": f"Send times: {campaign.title}", "campaign": campaign,
        "version": files_version(campaign),
        "default_timezone": drip().engine.settings.default_timezone,  # what an empty field means
        "defaults": {k: shown(campaign.schedule.get(k)) for k in SCHEDULE_KEYS}}
    if request.method == "GET":
        return page("console_timing.html", rows=_timing_rows(campaign), **context)
    try:
        if request.form.get("version") != context["version"]:
            raise CampaignError("the campaign's files changed since this form was opened; "
                                "reload to see the latest and make your change again")
        saved = save_timing(campaign, request.form, drip().engine.settings)
    except (CampaignError, ValueError) as exc:
        rows = _timing_rows(campaign)
        for row in rows:  # keep what was typed, to fix and resend
            row["values"] = {k: request.form.get(f"{row['lesson'].key}:{k}", "") for k in TIMING_KEYS}
        context["defaults"] = {k: request.form.get(f"campaign:{k}", "") for k in SCHEDULE_KEYS}
        return page("console_timing.html", 400, rows=rows, error=str(exc), **context)
    flash(f"Saved the send times of {slug}: {', '.join(saved) or 'nothing changed'}. Lessons already due "
          "keep their time; the rules apply from each subscriber's next lesson on.")
    return redirect(url_for("console.timing", slug=slug))
