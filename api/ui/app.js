// The topology page: sign in (sessionStorage, or #tenant=T&token=SECRET), load the tenant's
// networks and ports once the live event stream is open, then change rows as events arrive.

import { Api, ApiError, Unreachable } from "./api.js";
import { EventStream } from "./events.js";
import { Topology, renderRow } from "./topology.js";

const $ = (id) => document.getElementById(id);
const topology = new Topology();
let api = null;
let stream = null;
let loaded = false;
let pending = [];
let renderQueued = false;

function setConnection(state, text) {
  const badge = $("connection");
  badge.dataset.state = state;
  badge.textContent = text;
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

function describe(error) {
  if (error instanceof ApiError) return `${error.message}${error.code ? ` [${error.code}, HTTP ${error.status}]` : ""}`;
  if (error instanceof Unreachable) return `API unreachable: ${error.message}`;
  return String(error && error.message ? error.message : error);
}

function credentials() {
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ""));
  if (fragment.get("token")) {
    sessionStorage.setItem("netprov.token", fragment.get("token"));
    if (fragment.get("tenant")) sessionStorage.setItem("netprov.tenant", fragment.get("tenant"));
    // Out of the address bar and the history: the secret stays in this tab's storage only.
    history.replaceState(null, "", location.pathname + location.search);
  }
  const tenant = sessionStorage.getItem("netprov.tenant");
  const token = sessionStorage.getItem("netprov.token");
  return tenant && token ? { tenant, token } : null;
}

function render() {
  renderQueued = false;
  const filter = $("status-filter").value;
  const changed = topology.takeChanged();
  const body = document.createDocumentFragment();
  for (const { kind, resource } of topology.rows(filter)) {
    body.append(renderRow(kind, resource, changed.has(`${kind}:${resource.id}`)));
  }
  $("rows").replaceChildren(body);
  $("empty").hidden = topology.networks.size > 0;
  const counts = Object.entries(topology.counts()).map(([s, n]) => `${n} ${s}`).join(", ");
  $("counts").textContent = `${topology.networks.size} networks, ${topology.ports.size} ports${counts ? ` (${counts})` : ""}`;
}

function scheduleRender() {
  if (!renderQueued) {
    renderQueued = true;
    setTimeout(render, 0);
  }
}

async function loadSnapshot() {
  loaded = false;
  try {
    const networks = await api.networks();
    const ports = await Promise.all(networks.map((n) => api.ports(n.id).catch(() => [])));
    topology.load(networks, ports);
    loaded = true;
    const queued = pending;
    pending = [];
    for (const event of queued) applyEvent(event);
    showError("");
    render();
  } catch (error) {
    failed(error);
  }
}

// A resource first seen in an event: its full body (links, creation time), what events said winning.
async function learn(need) {
  try {
    if (need.kind === "network") {
      const fetched = await api.network(need.id);
      const known = topology.networks.get(need.id);
      if (known) topology.putNetwork({ ...fetched, ...known, links: fetched.links, created_at: fetched.created_at });
    } else if (need.networkId) {
      const fetched = await api.port(need.networkId, need.id);
      const known = topology.ports.get(need.id);
      if (known) topology.putPort({ ...fetched, ...known, links: fetched.links, created_at: fetched.created_at });
    }
    scheduleRender();
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) failed(error);  // 404: gone meanwhile
  }
}

function applyEvent(event) {
  $("last-event").textContent = `event ${event.id} (${event.type})`;
  if (event.type === "truncated") {
    loadSnapshot();
    return;
  }
  const need = topology.apply(event.type, event.data);
  if (need) learn(need);
  scheduleRender();
}

function failed(error) {
  if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
    refused(error);
    return;
  }
  setConnection("down", "API unreachable: reconnecting");
  showError(describe(error));
}

function refused(error) {
  setConnection("refused", "token refused");
  showError(`Sign-in refused: ${describe(error)}`);
  stop();
  sessionStorage.removeItem("netprov.token");
  $("signin").hidden = false;
}

function stop() {
  if (stream) stream.stop();
  stream = null;
}

function start({ tenant, token }) {
  stop();
  api = new Api(tenant, token);
  loaded = false;
  pending = [];
  topology.load([], []);
  $("signin").hidden = true;
  $("board").hidden = false;
  $("whoami").textContent = `tenant ${tenant}`;
  setConnection("connecting", "connecting");
  stream = new EventStream(api, {
    onOpen() {
      setConnection("live", "live");
      showError("");
      if (!loaded) loadSnapshot();
    },
    onEvent(event) {
      if (loaded) applyEvent(event);
      else pending.push(event);
    },
    onDrop(error) {
      // Without an event id to resume from, what changed meanwhile is only in a fresh read.
      if (stream && stream.lastId === null) loaded = false;
      failed(error);
    },
    onRefused(error) { refused(error); },
  });
  stream.start();
  render();
}

function init() {
  $("signin").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem("netprov.tenant", $("tenant").value.trim());
    sessionStorage.setItem("netprov.token", $("token").value.trim());
    $("token").value = "";
    start(credentials());
  });
  $("signout").addEventListener("click", () => {
    stop();
    sessionStorage.removeItem("netprov.token");
    $("board").hidden = true;
    $("signin").hidden = false;
    setConnection("idle", "not signed in");
  });
  $("status-filter").addEventListener("change", render);
  window.addEventListener("hashchange", () => { const found = credentials(); if (found) start(found); });
  const found = credentials();
  if (found) {
    $("tenant").value = found.tenant;
    start(found);
  }
}

init();
