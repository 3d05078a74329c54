// The tenant's live events (GET .../events, text/event-stream) read with fetch, because an
// EventSource cannot send the X-Auth-Token header. Reconnects with Last-Event-ID, so no event is
// missed across a drop; a refused token (401/403) is not retried.

import { ApiError, Unreachable } from "./api.js";

const RETRY_MS = 2000;

function parseBlock(block) {
  const event = { id: null, type: "message", data: [] };
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const name = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (name === "id") event.id = value;
    else if (name === "event") event.type = value;
    else if (name === "data") event.data.push(value);
  }
  return event;
}

export class EventStream {
  // handlers: onOpen(), onEvent({id, type, data}), onDrop(error), onRefused(error)
  constructor(api, handlers) {
    this.api = api;
    this.handlers = handlers;
    this.lastId = null;
    this.controller = null;
    this.stopped = false;
  }

  start() {
    this.stopped = false;
    this.loop();
  }

  stop() {
    this.stopped = true;
    if (this.controller) this.controller.abort();
  }

  async loop() {
    while (!this.stopped) {
      try {
        await this.once();
        this.handlers.onDrop(new Unreachable("the event stream ended"));
      } catch (error) {
        if (this.stopped) return;
        if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
          this.handlers.onRefused(error);
          return;
        }
        this.handlers.onDrop(error);
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }

  async once() {
    this.controller = new AbortController();
    const headers = { Accept: "text/event-stream" };
    if (this.lastId !== null) headers["Last-Event-ID"] = this.lastId;
    const response = await this.api.fetch("events", { headers, signal: this.controller.signal });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let opened = false;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (!opened) { opened = true; this.handlers.onOpen(); }
        const event = parseBlock(block);
        if (event.id !== null) this.lastId = event.id;
        if (!event.data.length) continue;
        this.handlers.onEvent({ id: event.id, type: event.type, data: JSON.parse(event.data.join("\n")) });
      }
    }
  }
}
