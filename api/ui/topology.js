// The tenant's networks and ports as the page shows them: loaded once, then changed by each live
// event. Rows are keyed by resource, so an event changes its row in place.

const PORT_FIELDS = ["state", "status", "status_reason", "link_status", "link_status_string", "qos_status", "qos_status_reason"];
const NETWORK_FIELDS = ["name", "status", "status_reason"];

export class Topology {
  constructor() {
    this.networks = new Map();
    this.ports = new Map();
    this.changed = new Set();
  }

  load(networks, portsByNetwork) {
    this.networks.clear();
    this.ports.clear();
    for (const network of networks) this.networks.set(network.id, network);
    for (const ports of portsByNetwork) for (const port of ports) this.ports.set(port.id, port);
  }

  putNetwork(network) {
    this.networks.set(network.id, { ...(this.networks.get(network.id) || {}), ...network });
    this.changed.add(`network:${network.id}`);
  }

  putPort(port) {
    this.ports.set(port.id, { ...(this.ports.get(port.id) || {}), ...port });
    this.changed.add(`port:${port.id}`);
  }

  // Apply one event; return what the page must fetch to know a resource first seen here
  // ({kind, id, networkId}), or null.
  apply(type, data) {
    if (data.resource_type === "network" && data.id) {
      if (data.deleted) {
        this.networks.delete(data.id);
        for (const [id, port] of this.ports) if (port.network_id === data.id) this.ports.delete(id);
        return null;
      }
      const known = this.networks.get(data.id);
      this.putNetwork(pick(data, NETWORK_FIELDS, { id: data.id }));
      return known && known.links ? null : { kind: "network", id: data.id };
    }
    if (data.resource_type === "port" && data.id) {
      if (data.deleted) { this.ports.delete(data.id); return null; }
      const known = this.ports.get(data.id);
      const fields = type.endsWith("link_status")
        ? pick(data, ["link_status", "link_status_string"], { id: data.id })
        : pick(data, PORT_FIELDS, { id: data.id });
      if (data.network_id) fields.network_id = data.network_id;
      this.putPort(fields);
      const networkId = data.network_id || (known && known.network_id);
      return known && known.links ? null : { kind: "port", id: data.id, networkId };
    }
    if (data.resource_type === "attachment" && data.port_id) {
      const port = this.ports.get(data.port_id);
      if (!port) return null;
      const attachment = data.deleted ? null : {
        ...(port.attachment || {}), id: data.id, host: data.host, status: data.status, status_reason: data.status_reason,
      };
      this.putPort({ id: data.port_id, attachment });
    }
    return null;
  }

  counts() {
    const counts = {};
    for (const resource of [...this.networks.values(), ...this.ports.values()]) {
      counts[resource.status] = (counts[resource.status] || 0) + 1;
    }
    return counts;
  }

  // Rows in display order: each network, then its ports. With a status filter, a port shows when
  // it or its attachment has that status, a network when it has it or shows a port.
  rows(filter) {
    const rows = [];
    const networks = [...this.networks.values()].sort(byCreation);
    for (const network of networks) {
      const ports = [...this.ports.values()].filter((p) => p.network_id === network.id).sort(byCreation);
      const shown = filter ? ports.filter((p) => p.status === filter || (p.attachment && p.attachment.status === filter)) : ports;
      if (filter && network.status !== filter && !shown.length) continue;
      rows.push({ kind: "network", resource: network });
      for (const port of shown) rows.push({ kind: "port", resource: port });
    }
    return rows;
  }

  takeChanged() {
    const changed = this.changed;
    this.changed = new Set();
    return changed;
  }
}

function pick(data, fields, into) {
  for (const field of fields) if (field in data) into[field] = data[field];
  return into;
}

function byCreation(a, b) {
  return String(a.created_at || "~").localeCompare(String(b.created_at || "~")) || a.id.localeCompare(b.id);
}

// -- rendering -------------------------------------------------------------------------------

function cell(column, content) {
  const td = document.createElement("td");
  td.dataset.col = column;
  if (content instanceof Node) td.append(content);
  else td.textContent = content ?? "";
  return td;
}

function status(value) {
  if (!value) return document.createTextNode("—");
  const span = document.createElement("span");
  span.className = "status";
  span.dataset.value = value;
  span.textContent = value;
  return span;
}

function workflowLink(resource) {
  const href = resource.links && resource.links.workflow;
  if (!href) return document.createTextNode("");
  const a = document.createElement("a");
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener";
  a.textContent = "workflow";
  return a;
}

export function renderRow(kind, resource, changed) {
  const tr = document.createElement("tr");
  tr.dataset.kind = kind;
  tr.dataset.id = resource.id;
  tr.dataset.status = resource.status || "";
  if (changed) tr.className = "changed";
  if (kind === "network") {
    tr.append(
      cell("kind", "network"), cell("id", resource.id), cell("name", resource.name),
      cell("status", status(resource.status)), cell("status_reason", resource.status_reason),
      cell("link_status", ""), cell("link_status_string", ""), cell("attachment", ""), cell("attachment_status", ""),
      cell("qos_status", ""), cell("workflow", workflowLink(resource)),
    );
    return tr;
  }
  const attachment = resource.attachment;
  const qos = resource.qos_status === undefined || resource.qos_status === null ? status(null) : status(resource.qos_status);
  tr.append(
    cell("kind", "port"), cell("id", resource.id), cell("name", resource.state),
    cell("status", status(resource.status)), cell("status_reason", resource.status_reason),
    cell("link_status", status(resource.link_status)), cell("link_status_string", resource.link_status_string),
    cell("attachment", attachment ? `${attachment.id}@${attachment.host}` : "—"),
    cell("attachment_status", attachment ? status(attachment.status) : ""),
    cell("qos_status", qos), cell("workflow", workflowLink(resource)),
  );
  if (resource.qos_status_reason) tr.querySelector('[data-col="qos_status"]').title = resource.qos_status_reason;
  return tr;
}
