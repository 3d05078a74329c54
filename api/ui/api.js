// The REST calls the page makes, with the tenant's token; problems become ApiError, an API that
// cannot be reached becomes Unreachable.

export class ApiError extends Error {
  constructor(status, problem) {
    const title = problem.title || `HTTP ${status}`;
    super(problem.detail ? `${title}: ${problem.detail}` : title);
    this.status = status;
    this.code = problem.code || null;
  }
}

export class Unreachable extends Error {}

export class Api {
  constructor(tenant, token) {
    this.tenant = tenant;
    this.token = token;
    this.base = `/v1.1/tenants/${encodeURIComponent(tenant)}`;
  }

  headers(extra = {}) {
    return { "X-Auth-Token": this.token, Accept: "application/json", ...extra };
  }

  async fetch(path, options = {}) {
    let response;
    try {
      response = await fetch(`${this.base}/${path}`, { ...options, headers: this.headers(options.headers) });
    } catch (error) {
      throw new Unreachable(`the API cannot be reached (${error.message})`);
    }
    if (!response.ok) {
      let problem = {};
      try { problem = await response.json(); } catch { /* not JSON: a proxy's page */ }
      throw new ApiError(response.status, problem);
    }
    return response;
  }

  async get(path) {
    return (await this.fetch(path)).json();
  }

  async networks() {
    return (await this.get("networks?detail=true")).networks;
  }

  async ports(networkId) {
    return (await this.get(`networks/${networkId}/ports?detail=true`)).ports;
  }

  async network(networkId) {
    return (await this.get(`networks/${networkId}`)).network;
  }

  async port(networkId, portId) {
    return (await this.get(`networks/${networkId}/ports/${portId}`)).port;
  }
}
