/* The operator console: login, a live grid of compartments, alarms with evidence, actions, timelines.
   Every word comes from the catalogues (static/i18n): states, alarm reasons, refusals (by the error body's
   code), event names and payload fields; times are shown in the browser's time zone. */
"use strict";
const $ = (id) => document.getElementById(id);
const consoleState = { csrf: "", stream: null, clearing: null, refreshTimer: null };
// Refusals without a code of the bank's (guards, validation, the server itself) are named by their status.
const STATUS_ERRORS = { 401: "session", 403: "forbidden", 404: "not_found", 413: "invalid_request",
  422: "invalid_request", 429: "too_many" };

/** The catalogue's word for ``value`` under ``prefix`` (op.alarm, op.state...), else the value itself. */
function label(prefix, value) {
  const key = `${prefix}.${value}`;
  return I18N.has(key) ? I18N.t(key) : String(value);
}

/** An ISO time in the browser's time zone, as YYYY-MM-DD HH:MM:SS. */
function localTime(iso) {
  const d = new Date(iso);
  const two = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} `
    + `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** An event's payload in words: labelled fields, reasons and states translated. */
function describe(event, skip = []) {
  const words = { reason: event.type === "AlarmRaised" ? "op.alarm" : null, resume_state: "op.state" };
  return Object.entries(event.payload).filter(([name]) => !skip.includes(name)).map(([name, value]) => {
    const shown = value === null || value === "" ? "—" : words[name] ? label(words[name], value) : value;
    return `${label("op.field", name)}: ${shown}`;
  }).join(", ");
}

async function call(method, path, body) {
  const headers = { "X-CSRF-Token": consoleState.csrf };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 401) showLogin();
  return response;
}

function showLogin() {
  $("login").hidden = false;
  for (const id of ["grid", "logout", "export", "live"]) $(id).hidden = true;
  $("who").textContent = "";
  if (consoleState.stream) consoleState.stream.close();
}

function showConsole(session) {
  consoleState.csrf = session.csrf;
  $("login").hidden = true;
  for (const id of ["grid", "logout", "export"]) $(id).hidden = false;
  $("who").textContent = I18N.t("op.signed_in", { name: session.name, role: label("op.role", session.role) });
  $("who").dataset.role = session.role;
  refresh();
  listen();
}

async function login(event) {
  event.preventDefault();
  const response = await fetch("/operator/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name: $("login-user").value, password: $("login-password").value }),
  });
  if (response.ok) {
    $("login-error").textContent = "";
    $("login-password").value = "";
    showConsole(await response.json());
  } else {
    $("login-error").textContent = I18N.t(response.status === 429 ? "op.too_many" : "op.login_failed");
  }
}

async function logout() {
  await call("POST", "/operator/logout");
  consoleState.csrf = "";
  showLogin();
}

/* -------------------------------------------------------------- the grid */
async function refresh() {
  const response = await call("GET", "/compartments");
  if (!response.ok) return;
  const { compartments } = await response.json();
  $("grid").replaceChildren(...compartments.map(tile));
  for (const row of compartments.filter((k) => k.state === "alarm")) showEvidence(row.id);
}

function element(tag, text, attributes = {}) {
  const el = document.createElement(tag);
  if (text !== undefined) el.textContent = text;
  for (const [name, value] of Object.entries(attributes)) el.setAttribute(name, value);
  return el;
}

function button(key, testid, onClick) {
  const el = element("button", I18N.t(key), { "data-testid": testid, type: "button" });
  el.addEventListener("click", onClick);
  return el;
}

function tile(k) {
  const el = element("article", undefined, { "data-compartment": k.id, "data-state": k.state, class: "tile" });
  el.append(element("h3", k.id), element("p", label("op.state", k.state), { class: "state" }));
  el.append(element("p", label("op.door", k.door), { class: "door-state" }));
  if (k.failed_attempts) el.append(element("p", I18N.t("op.failed_attempts", { count: k.failed_attempts })));
  const actions = element("div", undefined, { class: "actions" });
  if (k.state === "alarm") {
    el.append(element("p", label("op.alarm", k.alarm), { class: "alarm", "data-testid": "alarm-reason" }));
    el.append(element("p", "", { class: "evidence", "data-testid": "evidence" }));
    actions.append(button("op.clear", "clear-alarm", () => askToClear(k.id)));
    if (k.alarm === "out_of_service") {
      actions.append(button("op.in_service", "in-service", () => act(`/operator/compartments/${k.id}/in-service`, {})));
    }
  } else if (k.state === "free" || k.state === "occupied") {
    actions.append(button("op.out_of_service", "out-of-service",
      () => act(`/operator/compartments/${k.id}/out-of-service`, { note: "" })));
  }
  if (k.face_erased) el.append(element("p", I18N.t("op.face_erased"), { "data-testid": "face-erased" }));
  else if (k.occupied_by && k.state === "occupied") {
    // On the owner's request (made to the operator): the face goes, the item stays, the PIN still opens it.
    actions.append(button("op.erase_face", "erase-face", () => act(`/operator/compartments/${k.id}/erase-face`, {})));
  }
  actions.append(button("op.timeline", "show-timeline", () => showTimeline(k.id)));
  el.append(actions);
  return el;
}

async function showEvidence(id) {
  const response = await call("GET", `/operator/compartments/${id}/timeline`);
  if (!response.ok) return;
  const { events } = await response.json();
  const alarm = events.filter((e) => e.type === "AlarmRaised").pop();
  const target = document.querySelector(`[data-compartment="${id}"] .evidence`);
  if (alarm && target) {
    target.textContent = `${I18N.t("op.evidence")}: ${localTime(alarm.occurred_at)} ${describe(alarm, ["reason"])}`;
  }
}

/** A refusal in the page's language: the error body's code, else its status; the server's words kept aside. */
async function refusal(response) {
  const body = await response.json().catch(() => ({}));
  const fallback = STATUS_ERRORS[response.status] ?? (response.status >= 500 ? "unavailable" : "unknown");
  const code = body.code && I18N.has(`op.error.${body.code}`) ? body.code : fallback;
  const state = body.state ? label("op.state", body.state) : "";
  const text = I18N.t(`op.error.${code}`, { id: body.compartment_id ?? "", state });
  return { code, text: I18N.t("op.refused", { detail: text }), detail: String(body.detail ?? response.status) };
}

/** POST an action; a refusal is shown (and returned: its text), success clears the last one. */
async function act(path, body) {
  const response = await call("POST", path, body);
  const refused = response.ok ? { code: "", text: "", detail: "" } : await refusal(response);
  $("error").textContent = refused.text;
  Object.assign($("error").dataset, { code: refused.code, detail: refused.detail });
  await refresh();
  return refused.text;
}

function askToClear(id, draft = { note: "", release: false }, refused = "") {
  consoleState.clearing = id;
  $("clear-title").textContent = I18N.t("op.clear_title", { id });
  $("clear-note").value = draft.note;
  $("clear-release").checked = draft.release;
  $("clear-error").textContent = refused;
  $("clear-dialog").showModal();
}

async function onClearClosed() {
  const id = consoleState.clearing;
  consoleState.clearing = null;
  if ($("clear-dialog").returnValue !== "confirm" || id == null) return;
  const draft = { note: $("clear-note").value, release: $("clear-release").checked };
  const refused = await act(`/operator/alarms/${id}/clear`, draft);
  // Refused (the door is still open, the board is silent...): the typed note comes back with the reason.
  if (refused) askToClear(id, draft, refused);
}

async function showTimeline(id) {
  const response = await call("GET", `/operator/compartments/${id}/timeline`);
  if (!response.ok) return;
  const { events } = await response.json();
  $("timeline-title").textContent = I18N.t("op.timeline_title", { id });
  $("timeline-zone").textContent = I18N.t("op.local_time", { zone: Intl.DateTimeFormat().resolvedOptions().timeZone });
  $("timeline").replaceChildren(...events.map((e) => {
    const entry = element("li", undefined, { "data-type": e.type });
    const details = describe(e);
    entry.append(`${e.version}. `, element("time", localTime(e.occurred_at), { datetime: e.occurred_at }),
      ` ${label("op.event", e.type)}${details ? ` — ${details}` : ""}`);
    return entry;
  }));
  $("timeline-dialog").showModal();
}

function listen() {
  if (consoleState.stream) consoleState.stream.close();
  // Only what happens from now on: the grid is read from /compartments when the stream opens, so a long log is
  // never replayed; a reconnect resumes after the last event seen (Last-Event-ID). Refreshes are coalesced.
  consoleState.stream = new EventSource("/events?replay=false");
  consoleState.stream.addEventListener("open", () => { $("live").hidden = false; refresh(); });
  consoleState.stream.addEventListener("error", () => { $("live").hidden = true; });
  const later = () => {
    clearTimeout(consoleState.refreshTimer);
    consoleState.refreshTimer = setTimeout(refresh, 250);
  };
  // Every event type the catalogue names (a test holds it to the bank's list) refreshes the grid.
  const kinds = Object.keys(I18N.messages).filter((key) => key.startsWith("op.event.")).map((key) => key.slice(9));
  for (const kind of kinds) consoleState.stream.addEventListener(kind, later);
}

async function start() {
  await I18N.load();
  document.querySelector("nav.lang").setAttribute("aria-label", I18N.t("op.languages"));
  $("login").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  $("clear-dialog").addEventListener("close", onClearClosed);
  const response = await fetch("/operator/session");
  if (response.ok) showConsole(await response.json());
  else showLogin();
}

start();
