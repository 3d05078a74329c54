"""Server-Sent Events: the W3C parsing rules, turning lines of a text/event-stream into StatusEvents."""

from __future__ import annotations

import json

from netprov.resources import EventData, StatusEvent

TRUNCATED = "truncated"
# A stream idle this long is taken for dead and reopened (the API sends a keep-alive every 15 s).
STREAM_IDLE_TIMEOUT = 40.0


class SseParser:
    """Turns the lines of a text/event-stream into StatusEvents (the W3C parsing rules)."""

    def __init__(self) -> None:
        self.last_id: str | None = None
        self._event, self._data, self._id = "", [], None

    def feed(self, line: str) -> StatusEvent | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._id = value
        return None

    def _dispatch(self) -> StatusEvent | None:
        event, data, event_id = self._event, self._data, self._id
        self._event, self._data, self._id = "", [], None
        if event_id is not None:
            self.last_id = event_id
        if not data:
            return None
        payload = json.loads("\n".join(data))
        if event == TRUNCATED:
            # Events after our Last-Event-ID were pruned: the caller must re-read the resources.
            data_model = EventData(resource_type="stream", id=None, status_reason=payload.get("reason"))
            return StatusEvent(id=int(self.last_id or 0), type=TRUNCATED, data=data_model)
        return StatusEvent(id=int(event_id or self.last_id or 0), type=event or "message", data=EventData.model_validate(payload))
