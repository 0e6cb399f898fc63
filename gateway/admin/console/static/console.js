// The venue console: signs admin API requests in the browser and renders the live
// stream. No framework and no build step; every text from the server goes through
// textContent, never innerHTML.
"use strict";

const API = "/admin/v1";
const PKCS8_ED25519 = "302e020100300506032b657004220420"; // the DER prefix of a raw seed
const enc = new TextEncoder();

const state = {
  operator: "", role: "", key: null, doc: null, live: null, market: "",
  stream: null, streamTimer: 0, view: "overview", tenantsQuery: "", tenant: "",
};

const $ = (id) => document.getElementById(id);
const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
const unhex = (text) => Uint8Array.from(text.match(/../g), (h) => parseInt(h, 16));

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function row(cells) {
  const tr = el("tr");
  for (const cell of cells) {
    if (cell instanceof Node) { const td = el("td"); td.append(cell); tr.append(td); }
    else tr.append(el("td", cell));
  }
  return tr;
}

function fill(tbody, rows, empty) {
  tbody.replaceChildren(...rows);
  if (!rows.length && empty) {
    const tr = el("tr", null, "empty");
    const td = el("td", empty);
    td.colSpan = 20;
    tr.append(td);
    tbody.append(tr);
  }
}

const rate = (perS) => (perS ?? 0).toFixed(1);
const time = (ms) => (ms ? new Date(ms).toISOString().replace("T", " ").slice(0, 19) : "");
const timeUs = (us) => time(Math.floor(us / 1000));

function notice(text, error) {
  const node = $("notice");
  node.textContent = text;
  node.className = error ? "error" : "";
}

// ---------------------------------------------------------------- signing

function nonce() {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function signedHeaders(method, pathQs, body) {
  const ts = Date.now();
  const once = nonce();
  const digest = hex(await crypto.subtle.digest("SHA-256", body));
  const message = `${method}\n${pathQs}\n${ts}\n${once}\n${digest}`;
  const signature = await crypto.subtle.sign("Ed25519", state.key, enc.encode(message));
  return {
    "X-Operator-Id": state.operator,
    "X-Operator-Timestamp": String(ts),
    "X-Operator-Nonce": once,
    "X-Operator-Signature": hex(signature),
  };
}

// One admin API call; a mutation carries an Idempotency-Key, kept across one retry.
async function api(method, path, json) {
  const body = json === undefined ? new Uint8Array() : enc.encode(JSON.stringify(json));
  const extra = {};
  if (json !== undefined) extra["Content-Type"] = "application/json";
  if (method !== "GET") extra["Idempotency-Key"] = crypto.randomUUID();
  let response;
  for (let attempt = 0; ; attempt++) {
    const headers = { ...(await signedHeaders(method, API + path, body)), ...extra };
    try {
      response = await fetch(API + path, { method, headers, body: method === "GET" ? undefined : body });
      break;
    } catch (error) {
      if (attempt >= 1) throw error; // the same key: a retry cannot act twice
    }
  }
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    const failure = new Error(answer.detail || response.statusText);
    failure.problem = answer;
    throw failure;
  }
  return answer;
}

// Which role may call a route: the server's own OpenAPI document says (x-roles).
function allowed(route) {
  if (!state.doc) return false;
  const [method, path] = route.split(" ");
  const operation = (state.doc.paths[API + path] || {})[method.toLowerCase()];
  return !!operation && (operation["x-roles"] || []).includes(state.role);
}

function gate(root) {
  for (const button of (root || document).querySelectorAll("[data-route]")) {
    button.hidden = !allowed(button.dataset.route);
  }
}

// ---------------------------------------------------------------- login

async function login(event) {
  event.preventDefault();
  const operator = $("login-operator").value.trim();
  const seed = $("login-seed").value.trim().toLowerCase();
  $("login-error").textContent = "";
  try {
    if (!/^[0-9a-f]{64}$/.test(seed)) throw new Error("the key is 64 hex digits");
    state.key = await crypto.subtle.importKey("pkcs8", unhex(PKCS8_ED25519 + seed), { name: "Ed25519" }, false, ["sign"]);
    state.operator = operator;
    const me = await api("GET", "/operators/me");
    state.role = me.role;
    state.tenant = me.role === "tenant-admin" ? me.tenant : ""; // the stream is then scoped to it
    state.doc = await (await fetch(API + "/openapi.json")).json();
  } catch (error) {
    state.key = null;
    $("login-error").textContent = `Sign-in failed: ${error.message}`;
    return;
  }
  $("login-seed").value = "";
  $("login").hidden = true;
  $("shell").hidden = false;
  $("whoami").textContent = `${state.operator} (${state.role}${state.tenant ? ` of ${state.tenant}` : ""})`;
  document.body.dataset.role = state.role;
  gate();
  show(state.view);
  document.querySelector(`nav [data-view="${state.view}"]`).focus();
  connect();
}

function logout() {
  state.key = null;
  for (const name of Object.keys(drawn)) delete drawn[name];
  state.operator = state.role = state.tenant = "";
  if (state.stream) state.stream.abort();
  clearTimeout(state.streamTimer);
  $("shell").hidden = true;
  $("login").hidden = false;
  $("login-operator").focus();
}

// ---------------------------------------------------------------- live stream

// Server-sent events over a signed fetch (EventSource cannot send headers); on a
// break it reconnects after the server's retry delay with a fresh signature.
async function connect() {
  if (!state.key) return;
  const abort = new AbortController();
  state.stream = abort;
  let retry = 2000;
  try {
    const path = API + "/console/stream";
    const response = await fetch(path, { headers: await signedHeaders("GET", path, new Uint8Array()), signal: abort.signal });
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      throw new Error(problem.detail || response.statusText);
    }
    setLive(true);
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let name = "message", data = "";
        for (const line of frame.split("\n")) {
          if (line.startsWith("event: ")) name = line.slice(7);
          else if (line.startsWith("data: ")) data += line.slice(6);
          else if (line.startsWith("retry: ")) retry = Number(line.slice(7)) || retry;
        }
        if (name === "state") render(JSON.parse(data));
        else if (name in pushed) pushed[name](JSON.parse(data));
        else if (name === "bye") { notice("The gateway closed the console stream: " + data, true); logout(); return; }
      }
    }
  } catch (error) {
    if (abort.signal.aborted) return;
    notice(`Live stream: ${error.message}`, true);
  }
  setLive(false);
  if (state.key && state.stream === abort) state.streamTimer = setTimeout(connect, retry);
}

function setLive(on) {
  const badge = $("live");
  badge.textContent = on ? "live" : "reconnecting";
  badge.className = on ? "live on" : "live off";
}

// ---------------------------------------------------------------- views

function show(view) {
  state.view = view;
  for (const section of document.querySelectorAll(".view")) section.hidden = section.id !== `view-${view}`;
  for (const button of document.querySelectorAll("nav [data-view]")) {
    button.setAttribute("aria-current", button.dataset.view === view ? "page" : "false");
  }
  if (view === "accounts") searchAccounts();
  if (view === "audit") loadAudit();
  if (view === "surveillance") loadAlerts();
}

// A section is rebuilt only when its data changed: rows (and the keyboard focus on
// their buttons) survive the pushes that did not touch them.
const drawn = {};
function changed(name, data) {
  const text = JSON.stringify(data);
  if (drawn[name] === text) return false;
  drawn[name] = text;
  return true;
}

// A rebuilt section gives the keyboard focus back to the same button (same row, same
// label) if it had it.
function keepFocus(container, rebuild) {
  const active = document.activeElement;
  const owner = (node) => node.closest("tr, [data-symbol]");
  const key = (node) => (owner(node) ? `${JSON.stringify(owner(node).dataset)}|${node.textContent}` : "");
  const had = active && active.tagName === "BUTTON" && container.contains(active) ? key(active) : "";
  rebuild();
  if (!had) return;
  const again = [...container.querySelectorAll("button")].find((node) => key(node) === had);
  if (again) again.focus();
}

function render(snapshot) {
  state.live = snapshot;
  if (snapshot.overview) renderOverview(snapshot.overview, snapshot.seq);
  if (snapshot.markets && changed("markets", [snapshot.markets, state.market])) keepFocus($("view-markets"), () => renderMarkets(snapshot.markets));
  if (snapshot.sessions && changed("sessions", snapshot.sessions)) keepFocus($("view-sessions"), () => renderSessions(snapshot.sessions));
  if (snapshot.funds && changed("funds", snapshot.funds)) keepFocus($("view-funds"), () => renderFunds(snapshot.funds));
}

function latency(figures, key, quantile) {
  const item = (figures.latency_us || {})[key];
  if (!item || item[quantile] === null || item[quantile] === undefined) return "no samples";
  const us = item[quantile];
  if (us < 0) return "> 1 s";
  return us >= 1000 ? `≤ ${us / 1000} ms` : `≤ ${us} µs`;
}

// p50 / p99 / p99.9 of an order-entry edge's acknowledgement latency, or why none.
function ackLatency(figures, key) {
  const item = (figures.latency_us || {})[key];
  if (!item) return "no such edge";
  if (!item.samples) return "no orders";
  return ["p50", "p99", "p999"].map((q) => latency(figures, key, q)).join(" / ");
}

function renderOverview(o, seq) {
  // a tenant-admin's stream (views.py scoped) has its own totals, no venue internals
  const sessions = o.scope === "tenant" ? String(o.sessions) : Object.entries(o.sessions || {}).map(([k, v]) => `${k} ${v}`).join(", ") || "0";
  const cards = o.scope === "tenant" ? [
    ["Ready", o.ready ? "yes" : "no", o.ready ? "ok" : "bad"],
    ["Trading", o.halted ? "HALTED" : "running", o.halted ? "bad" : "ok"],
    ["Sequence", seq],
    [`Open orders (${state.tenant})`, o.open_orders],
    [`Logged-on sessions (${state.tenant})`, sessions],
  ] : [
    ["Ready", o.ready ? "yes" : "no", o.ready ? "ok" : "bad"],
    ["Trading", o.halted ? "HALTED" : "running", o.halted ? "bad" : "ok"],
    ["Sequence", seq],
    ["Orders / s", o.orders_per_s],
    ["Commands / s", o.commands_per_s],
    ["FIX order ack p50 / p99 / p99.9", ackLatency(o, "ack_fix")],
    ["WS order ack p50 / p99 / p99.9", ackLatency(o, "ack_ws")],
    ["Engine apply p50 / p99", `${latency(o, "engine_command", "p50")} / ${latency(o, "engine_command", "p99")}`],
    ["Journal fsync p99", latency(o, "journal_fsync", "p99")],
    ["Journal flush p99", latency(o, "journal_flush", "p99")],
    ["Event-loop lag p99", latency(o, "loop_lag", "p99")],
    ["Follower lag", o.follower_lag_commands === null || o.follower_lag_commands === undefined ? "no follower" : `${o.follower_lag_commands} commands`],
    ["Open orders", o.open_orders],
    ["Logged-on sessions", sessions],
  ];
  $("overview-cards").replaceChildren(...cards.map(([label, value, tone]) => {
    const card = el("div", null, `card ${tone || ""}`);
    card.append(el("span", label, "label"), el("span", value, "value"));
    return card;
  }));
  $("venue-halt").disabled = o.halted;
  $("venue-resume").disabled = !o.halted;
}

function renderMarkets(markets) {
  if (!state.market || !markets.some((m) => m.symbol === state.market)) state.market = markets.length ? markets[0].symbol : "";
  const tabs = $("market-tabs");
  tabs.replaceChildren(...markets.map((m) => {
    const tab = el("button", `${m.symbol} · ${m.status}`, `tab ${m.status}`);
    tab.type = "button";
    tab.setAttribute("role", "tab");
    tab.setAttribute("aria-selected", String(m.symbol === state.market));
    tab.dataset.symbol = m.symbol;
    tab.addEventListener("click", () => { state.market = m.symbol; keepFocus(tabs, () => renderMarkets(state.live.markets)); });
    return tab;
  }));
  const m = markets.find((x) => x.symbol === state.market);
  if (!m) return;
  const status = $("market-status");
  status.textContent = m.status;
  status.className = `badge ${m.status}`;
  $("market-halt").disabled = m.status === "halted";
  $("market-cancel-only").disabled = m.status === "cancel_only";
  $("market-resume").disabled = m.status === "open";
  const stats = m.stats_24h || { trades: 0 };
  const labels = [["trades", "trades"], ["open", "open"], ["high", "high"], ["low", "low"], ["last", "last"], ["volume", "volume (base)"], ["quote_volume", "volume (quote)"]];
  const figures = labels.flatMap(([k, label]) => [el("dt", label), el("dd", stats[k] ?? "—")]);
  // Where the figures come from: every stored trade, or (store unreadable) only the
  // trades the gateway still holds in memory, which is not 24 h on a busy market.
  const source = stats.complete
    ? `every trade the follower stored${stats.stored_seq ? ` (to seq ${stats.stored_seq})` : ""}`
    : `PARTIAL: recent trades only (${stats.note || "store unavailable"})`;
  $("market-stats-source").textContent = source;
  $("market-stats-source").className = stats.complete ? "hint" : "hint error";
  if (m.perp) figures.push(...["mark", "index"].flatMap((k) => [el("dt", k), el("dd", m.perp[k] ?? "—", "perp")]));
  $("market-stats").replaceChildren(...figures);
  const asks = (m.asks || []).slice().reverse().map(([p, q]) => row(["", p, q]));
  const bids = (m.bids || []).map(([p, q]) => row([q, p, ""]));
  for (const tr of asks) tr.className = "ask";
  for (const tr of bids) tr.className = "bid";
  fill($("ladder").tBodies[0], [...asks, ...bids], "empty book");
  fill($("trades").tBodies[0], (m.trades || []).map((t) => {
    const tr = row([t.trade_id, t.price, t.qty, t.taker_side, timeUs(t.ts_us)]);
    tr.dataset.tradeId = t.trade_id;
    return tr;
  }), "no trades yet");
  depthChart(m.bids || [], m.asks || []);
}

function depthChart(bids, asks) {
  const svg = $("depth");
  const ns = "http://www.w3.org/2000/svg";
  const cumulative = (levels) => { let sum = 0; return levels.map(([p, q]) => [Number(p), (sum += Number(q))]); };
  const b = cumulative(bids), a = cumulative(asks);
  const prices = [...b, ...a].map(([p]) => p);
  const top = Math.max(1e-12, ...[...b, ...a].map(([, q]) => q));
  const lo = Math.min(...prices), hi = Math.max(...prices);
  const x = (p) => (hi === lo ? 200 : 10 + ((p - lo) / (hi - lo)) * 380);
  const y = (q) => 190 - (q / top) * 180;
  const shape = (points, cls) => {
    if (!points.length) return null;
    const path = document.createElementNS(ns, "path");
    let d = `M${x(points[0][0])},190`;
    for (const [p, q] of points) d += ` L${x(p)},${y(q)}`;
    d += ` L${x(points[points.length - 1][0])},190 Z`;
    path.setAttribute("d", d);
    path.setAttribute("class", cls);
    return path;
  };
  svg.replaceChildren(...[shape(b, "bid"), shape(a, "ask")].filter(Boolean));
}

function renderSessions(sessions) {
  fill($("sessions").tBodies[0], sessions.map((s) => {
    const actions = el("span", null, "actions");
    if (s.protocol === "fix") {
      const path = `/fix-sessions/${encodeURIComponent(s.sender)}/${encodeURIComponent(s.target)}`;
      const route = `POST /fix-sessions/{sender_comp_id}/{target_comp_id}/${s.enabled ? "disable" : "enable"}`;
      actions.append(actionButton(s.enabled ? "Disable" : "Enable", route, s.enabled, () =>
        confirmThen(`${s.enabled ? "Disable (and log out)" : "Enable"} FIX session ${s.id}.`,
          (reason) => api("POST", `${path}/${s.enabled ? "disable" : "enable"}`, { reason }))));
    } else if (s.who) {
      actions.append(actionButton("Revoke key", "POST /api-keys/{key_id}/revoke", true, () =>
        confirmThen(`Revoke API key ${s.who}: every WebSocket session of the key is closed.`,
          (reason) => api("POST", `/api-keys/${encodeURIComponent(s.who)}/revoke`, { reason }))));
    }
    if (s.session_id) { // a plain logout: the credentials stay enabled
      const logout = actionButton("Log out", "POST /sessions/{session_id}/logout", true, () =>
        confirmThen(`Log out ${s.protocol.toUpperCase()} session ${s.id} (session ${s.session_id}). Its credentials stay enabled: it may log on again.`,
          (reason) => api("POST", `/sessions/${s.session_id}/logout`, { reason })));
      logout.classList.add("logout");
      actions.append(logout);
    }
    const state = !s.enabled ? `disabled${s.status_reason ? ` (${s.status_reason})` : ""}`
      : s.logged_on ? "logged on" : s.connected ? "connected" : "down";
    const live = s.connected;
    const throttled = el("span", live ? s.throttle_hits : "", s.throttle_hits ? "error" : "");
    const tr = row([
      s.protocol, s.id, s.who, s.account, state, time(s.since_ms),
      live ? rate(s.in_per_s) : "", live ? rate(s.out_per_s) : "",
      live ? `${s.msgs_in} / ${s.msgs_out}` : "", throttled,
      s.next_in ?? "", s.next_out ?? "", actions,
    ]);
    tr.dataset.session = s.id;
    for (const i of [6, 7, 8, 9]) tr.cells[i].classList.add("num");
    return tr;
  }), "no sessions");
}

function steps(history) {
  return history.map((h) => `${h.status} by ${h.actor}${h.reason ? ` (${h.reason})` : ""}`).join(" → ");
}

function renderFunds(funds) {
  fill($("withdrawals").tBodies[0], funds.withdrawals.map((w) => {
    const actions = el("span", null, "actions");
    const id = w.withdrawal_id;
    if (w.status === "held") {
      const approve = actionButton("Approve", `POST /withdrawals/{withdrawal_id}/approve`, false, () =>
        confirmThen(`Approve withdrawal ${id}: ${w.amount} ${w.asset} from ${w.account} to ${w.destination}. Maker: ${w.requested_by}.`,
          (reason) => api("POST", `/withdrawals/${encodeURIComponent(id)}/approve`, { reason })));
      approve.dataset.withdrawal = id;
      approve.classList.add("approve");
      actions.append(approve);
    }
    if (w.status === "held" || w.status === "approved") {
      const reject = actionButton("Reject", `POST /withdrawals/{withdrawal_id}/reject`, true, () =>
        confirmThen(`Reject withdrawal ${id} (the hold is released).`,
          (reason) => api("POST", `/withdrawals/${encodeURIComponent(id)}/reject`, { reason })));
      reject.dataset.withdrawal = id;
      actions.append(reject);
    }
    const tr = row([id, w.account, `${w.amount} ${w.asset}`, w.destination, w.status, w.requested_by, steps(w.history), actions]);
    tr.dataset.withdrawal = id;
    return tr;
  }), "nothing waiting");
  fill($("deposits").tBodies[0], funds.deposits.map((d) => row([
    d.deposit_id, d.account, `${d.amount} ${d.asset}`, d.reference, d.status, steps(d.history),
  ])), "no deposits");
}

function actionButton(label, route, danger, onClick) {
  const button = el("button", label, danger ? "danger" : "");
  button.type = "button";
  button.dataset.route = route;
  button.hidden = !allowed(route);
  button.addEventListener("click", onClick);
  return button;
}

function accountRow(a) {
  const balances = Object.entries(a.balances).map(([asset, b]) => `${asset} ${b.total} / ${b.held}`).join(", ");
  const actions = el("span", null, "actions");
  const target = encodeURIComponent(a.account);
  actions.append(
    actionButton(a.enabled ? "Disable" : "Enable", "PUT /accounts/{account}/enabled", a.enabled, () =>
      confirmThen(`${a.enabled ? "Disable" : "Enable"} trading for account ${a.account}.`,
        (reason) => api("PUT", `/accounts/${target}/enabled`, { enabled: !a.enabled, reason }))),
    actionButton("Cancel all", "POST /mass-cancel", true, () =>
      confirmThen(`Cancel every open order of account ${a.account} (${a.open_orders} open).`,
        (reason) => api("POST", "/mass-cancel", { account: a.account, reason }))),
  );
  const limits = Object.entries(a.limits).filter(([, v]) => v !== "0").map(([k, v]) => `${k.replace(/_/g, " ")} ${v}`).join(", ") || "none";
  const tr = row([a.account, a.tenant || "—", a.status || "—", a.kyc || "—", a.enabled ? "enabled" : "DISABLED", a.open_orders, limits, balances, actions]);
  tr.dataset.account = a.account;
  return tr;
}

// A tenant's limits in one line: per tier the order and daily withdrawal limits, the
// withdrawal amounts above which a second approver is needed, and its admins' limits.
function tenantLimits(t) {
  const amounts = (map) => Object.entries(map || {}).map(([a, v]) => `${a} ${v}`).join(", ");
  const parts = Object.entries(t.tiers || {}).map(([n, tier]) => {
    const bits = [];
    if (tier.max_order_notional !== "0") bits.push(`max order notional ${tier.max_order_notional}`);
    if (Object.keys(tier.daily_withdraw_limit || {}).length) bits.push(`daily withdrawal ${amounts(tier.daily_withdraw_limit)}`);
    return `tier ${n}: ${bits.join("; ") || "no limit"}`;
  });
  if (Object.keys(t.withdraw_approval_threshold || {}).length) parts.push(`second approver above ${amounts(t.withdraw_approval_threshold)}`);
  if (Object.keys(t.admin_limits || {}).length) parts.push(`admin limits ${amounts(t.admin_limits)}`);
  return parts.join(" · ") || "none";
}

function tenantRow(t) {
  const actions = el("span", null, "actions");
  const target = encodeURIComponent(t.tenant);
  const act = (verb, body) => async (reason) => {
    const answer = await api("POST", `/tenants/${target}/${verb}`, { ...body, reason });
    loadTenants(); // the answer comes once the step is journaled: the row reads it
    return answer;
  };
  if (t.status === "suspended") {
    actions.append(actionButton("Resume", "POST /tenants/{tenant}/resume", false, () =>
      confirmThen(`Resume tenant ${t.tenant} (${t.name}): its ${t.accounts} account(s) may trade again.`, act("resume", {}))));
  } else {
    actions.append(actionButton("Suspend", "POST /tenants/{tenant}/suspend", true, () =>
      confirmThen(`Suspend tenant ${t.tenant} (${t.name}): its ${t.accounts} account(s) may only cancel orders.`, act("suspend", { cancel_orders: false }))));
  }
  const status = el("span", t.status === "suspended" ? "SUSPENDED" : t.status, t.status === "suspended" ? "error" : "");
  const tr = row([t.tenant, t.name, status, t.accounts, tenantLimits(t), actions]);
  tr.cells[3].classList.add("num");
  tr.dataset.tenant = t.tenant;
  return tr;
}

// Whether a tenant passes the view's search (its id or name contains the text).
const tenantMatches = (t, q) => !q || t.tenant.toLowerCase().includes(q) || (t.name || "").toLowerCase().includes(q);

// Tenants whose id or name contains the search text (GET /tenants lists them all; a
// tenant-admin reads its own tenant only).
async function loadTenants() {
  const q = $("account-q").value.trim().toLowerCase();
  state.tenantsQuery = q; // what the pushed rows are matched against
  try {
    const { tenants } = state.tenant
      ? { tenants: [await api("GET", `/tenants/${encodeURIComponent(state.tenant)}`)] }
      : await api("GET", "/tenants");
    const shown = tenants.filter((t) => tenantMatches(t, q));
    keepFocus($("tenants"), () => fill($("tenants").tBodies[0], shown.map(tenantRow), "no tenant matches"));
  } catch (error) {
    notice(`Tenants: ${error.message}`, true);
  }
}

async function searchAccounts(event) {
  if (event) event.preventDefault();
  const q = $("account-q").value.trim();
  loadTenants();
  try {
    const { accounts } = await api("GET", `/console/accounts?q=${encodeURIComponent(q)}&limit=200`);
    fill($("accounts").tBodies[0], accounts.map(accountRow), "no account matches");
  } catch (error) {
    notice(`Accounts: ${error.message}`, true);
  }
}

const AUDIT_ROWS = 200;
const auditRow = (r) => row([
  time(r.ts_ms), r.actor ?? "", r.role ?? "", `${r.method} ${r.path}`, r.status,
  (r.problem || "").split(":").pop(), r.reason ?? "", r.seq ?? "",
]);

// The server's filter (routes/console.py _matches), for the records pushed live.
function auditMatches(r, filter) {
  if (filter.actor && r.actor !== filter.actor) return false;
  if (filter.path && !String(r.path ?? "").split("?")[0].includes(filter.path)) return false;
  const code = String(r.status ?? "");
  if (filter.status && filter.status.endsWith("xx")) return code[0] === filter.status[0];
  return !filter.status || code === filter.status;
}

async function loadAudit(event) {
  if (event) event.preventDefault();
  const readable = allowed("GET /console/audit");
  $("audit-filter").hidden = !readable;
  $("audit-note").textContent = readable ? "" : "The admin audit log is venue staff's: your role may not read it.";
  if (!readable) { fill($("audit").tBodies[0], []); return; }
  const query = new URLSearchParams({ limit: String(AUDIT_ROWS) });
  const filter = {};
  for (const [field, id] of [["actor", "audit-actor"], ["path", "audit-path"], ["status", "audit-status"]]) {
    const value = $(id).value.trim();
    filter[field] = value;
    if (value) query.set(field, value);
  }
  try {
    const { records } = await api("GET", `/console/audit?${query}`);
    state.auditFilter = filter;
    fill($("audit").tBodies[0], records.map(auditRow), "no record matches");
  } catch (error) {
    notice(`Audit: ${error.message}`, true);
  }
}

// The alert queue lives in the follower's store (lane: surveillance); it is read when
// the view opens, on Reload, and after each review step.
const ALERTS = "/surveillance/alerts";
async function loadAlerts(event) {
  if (event) event.preventDefault();
  if (!allowed(`GET ${ALERTS}`)) {
    $("alerts-note").textContent = state.doc && state.doc.paths[API + ALERTS]
      ? "Surveillance is confidential: your role may not read the alert queue."
      : "This gateway has no surveillance routes.";
    fill($("alerts").tBodies[0], []);
    return;
  }
  const query = new URLSearchParams({ limit: "500" });
  if ($("alerts-state").value) query.set("state", $("alerts-state").value);
  try {
    const { alerts } = await api("GET", `${ALERTS}?${query}`);
    state.alertsState = $("alerts-state").value;
    fill($("alerts").tBodies[0], alerts.map(alertRow), "no alerts");
    alertsCount();
  } catch (error) {
    notice(`Alerts: ${error.message}`, true);
  }
}

function alertRow(a) {
  const open = el("button", "Open");
  open.type = "button";
  open.addEventListener("click", () => openAlert(a.alert_id));
  const tr = row([a.alert_id, a.rule, a.severity, a.owner, a.instrument, `${a.first_seq}–${a.last_seq}`, a.summary, a.state, open]);
  tr.dataset.alert = a.alert_id;
  return tr;
}

function alertsCount() {
  const count = $("alerts").querySelectorAll("tr[data-alert]").length;
  $("alerts-note").textContent = `${count} alert(s), oldest first`;
}

async function openAlert(id) {
  try {
    const { alert, state: step, notes } = await api("GET", `${ALERTS}/${encodeURIComponent(id)}`);
    $("alert-detail").hidden = false;
    $("alert-detail").dataset.alert = id;
    $("alert-id").textContent = id;
    $("alert-state").textContent = step;
    fill($("alert-notes").tBodies[0], notes.map((n) => row([timeUs(n.at_us), n.actor, `${n.from_state} → ${n.to_state}`, n.note, n.reason])), "no notes yet");
    $("alert-evidence").textContent = JSON.stringify(alert, null, 2);
  } catch (error) {
    notice(`Alert ${id}: ${error.message}`, true);
  }
}

function reviewStep(button) {
  const id = $("alert-detail").dataset.alert;
  const step = button.dataset.step;
  confirmThen(`Move alert ${id} to ${step}. Your reason is the analyst note.`, async (note) => {
    const body = { to_state: step, note };
    if (step === "closed") body.reason = note;
    return api("POST", `${ALERTS}/${encodeURIComponent(id)}/review`, body);
  });
}

// ---------------------------------------------------------------- live changes

// What the stream pushes for the views read on demand (besides the state): each
// updates the open view in place; "complete: false" (the stream fell behind) reloads
// it. A view that is not open is read again when it opens.
const pushed = {
  audit({ records, complete }) {
    if (state.view !== "audit" || !state.auditFilter) return;
    if (!complete) { loadAudit(); return; }
    const body = $("audit").tBodies[0];
    const fresh = records.filter((r) => auditMatches(r, state.auditFilter));
    if (!fresh.length) return;
    body.querySelector("tr.empty")?.remove();
    body.prepend(...fresh.reverse().map(auditRow)); // newest first
    while (body.rows.length > AUDIT_ROWS) body.lastElementChild.remove();
  },
  accounts({ accounts, complete }) {
    if (state.view !== "accounts") return;
    if (!complete) { searchAccounts(); return; }
    const table = $("accounts");
    keepFocus(table, () => {
      for (const a of accounts) {
        const shown = table.querySelector(`tr[data-account="${CSS.escape(a.account)}"]`);
        if (shown) shown.replaceWith(accountRow(a));
      }
    });
  },
  tenants({ tenants, complete }) {
    if (state.view !== "accounts") return;
    if (!complete) { loadTenants(); return; }
    const body = $("tenants").tBodies[0];
    keepFocus($("tenants"), () => {
      for (const t of tenants) {
        const shown = body.querySelector(`tr[data-tenant="${CSS.escape(t.tenant)}"]`);
        const wanted = tenantMatches(t, state.tenantsQuery);
        if (shown && wanted) shown.replaceWith(tenantRow(t));
        else if (shown) shown.remove();
        else if (wanted) { body.querySelector("tr.empty")?.remove(); body.append(tenantRow(t)); }
      }
    });
  },
  alerts({ alerts, complete }) {
    if (state.view !== "surveillance" || !allowed(`GET ${ALERTS}`)) return;
    if (!complete) { loadAlerts(); return; }
    const body = $("alerts").tBodies[0];
    keepFocus($("alerts"), () => {
      for (const a of alerts) {
        const shown = body.querySelector(`tr[data-alert="${CSS.escape(a.alert_id)}"]`);
        const wanted = !state.alertsState || a.state === state.alertsState;
        if (shown && wanted) shown.replaceWith(alertRow(a));
        else if (shown) shown.remove();
        else if (wanted) { body.querySelector("tr.empty")?.remove(); body.append(alertRow(a)); }
      }
    });
    alertsCount();
    const open = $("alert-detail");
    if (!open.hidden && alerts.some((a) => a.alert_id === open.dataset.alert)) openAlert(open.dataset.alert);
  },
};

// ---------------------------------------------------------------- dangerous actions

// Every action asks for confirmation and a reason; the reason goes with the request
// (the audit log keeps it, and the engine's history too where the step has one).
function confirmThen(text, act) {
  const dialog = $("confirm");
  $("confirm-text").textContent = text;
  $("confirm-reason").value = "";
  const form = $("confirm-form");
  form.onsubmit = async (event) => {
    event.preventDefault();
    const reason = $("confirm-reason").value.trim();
    if (reason.length < 3) { $("confirm-reason").reportValidity(); return; }
    dialog.close();
    try {
      const answer = await act(reason);
      notice(`Done (seq ${answer.seq ?? "?"}): ${text}`);
    } catch (error) {
      notice(`Refused: ${error.message}`, true);
    }
  };
  dialog.showModal();
  $("confirm-reason").focus();
}

function setStatus(status, verb) {
  const symbol = state.market;
  confirmThen(`${verb} ${symbol}.`, (reason) => api("PUT", `/instruments/${encodeURIComponent(symbol)}/status`, { status, reason }));
}

// ---------------------------------------------------------------- wiring

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  $("confirm-cancel").addEventListener("click", () => $("confirm").close());
  $("confirm-reason").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); $("confirm-form").requestSubmit(); }
  });
  for (const button of document.querySelectorAll("nav [data-view]")) {
    button.addEventListener("click", () => show(button.dataset.view));
  }
  $("market-halt").addEventListener("click", () => setStatus("halted", "Halt"));
  $("market-cancel-only").addEventListener("click", () => setStatus("cancel_only", "Set cancel-only on"));
  $("market-resume").addEventListener("click", () => setStatus("open", "Resume trading on"));
  $("market-cancel-all").addEventListener("click", () => confirmThen(`Cancel every open order on ${state.market}.`,
    (reason) => api("POST", "/mass-cancel", { symbol: state.market, reason })));
  $("venue-halt").addEventListener("click", () => confirmThen("Halt trading on the whole venue.", (reason) => api("PUT", "/halt", { halted: true, reason })));
  $("venue-resume").addEventListener("click", () => confirmThen("Resume trading on the whole venue.", (reason) => api("PUT", "/halt", { halted: false, reason })));
  $("account-search").addEventListener("submit", searchAccounts);
  $("audit-filter").addEventListener("submit", loadAudit);
  $("alerts-filter").addEventListener("submit", loadAlerts);
  for (const button of document.querySelectorAll("[data-step]")) button.addEventListener("click", () => reviewStep(button));
  document.addEventListener("keydown", (event) => {
    const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(event.target.tagName) || $("confirm").open;
    if (typing || $("shell").hidden || event.ctrlKey || event.metaKey || event.altKey) return;
    const button = document.querySelector(`nav [aria-keyshortcuts="${event.key}"]`);
    if (button) { event.preventDefault(); show(button.dataset.view); button.focus(); }
    else if (event.key === "/") { event.preventDefault(); show("accounts"); $("account-q").focus(); }
  });
  $("login-operator").focus();
});
