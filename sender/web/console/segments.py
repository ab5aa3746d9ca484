"""The live segment count: `GET /console/segments/count?q=EXPR` answers
`{"count": N, "text": "matches N subscribers"}`, or `{"error": "..."}` (400) for an
expression that does not parse. The newsletter form and the Start form ask it as
staff type (`_segment_count.html`); it counts by the store's one definition of a
segment (`Store.segment_size`), so the hint and the send agree."""

from __future__ import annotations

from flask import Response, jsonify, request

from sender.segments import SegmentError
from sender.web import drip
from sender.web.console import bp


def count_text(count: int, segment: str) -> str:
    noun = "subscriber" if count == 1 else "subscribers"
    return f"matches {count:,} active {noun}" if segment else f"everyone: {count:,} active {noun}"


@bp.get("/segments/count")
def segment_count() -> tuple[Response, int]:
    segment = request.args.get("q", "").strip()
    try:
        count = drip().engine.store.segment_size(segment or None)
    except SegmentError as exc:
        return jsonify(error=str(exc)), 400
    return jsonify(count=count, text=count_text(count, segment)), 200
