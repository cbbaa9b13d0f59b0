/* What the bank's console and the fleet console share: sign-in (session cookie, CSRF), words from the catalogues
   (labels, event payloads, refusals by the error body's code), local times, small DOM helpers. Loaded after
   i18n.js and before the page's own script; the page names its sign-in hooks in startSession(). */
"use strict";
const $ = (id) => document.getElementById(id);
const session = { csrf: "", signedIn: () => {}, signedOut: () => {} };
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

/** A timeline entry: a <li> with the event's human name, its local time and its payload in words. */
function timelineEntry(e, number) {
  const entry = element("li", undefined, { "data-type": e.type });
  const details = describe(e);
  entry.append(`${number}. `, element("time", localTime(e.occurred_at), { datetime: e.occurred_at }),
    ` ${label("op.event", e.type)}${details ? ` — ${details}` : ""}`);
  return entry;
}

/** The browser's time zone, in words ("times are local: Asia/Seoul"). */
function zoneNote() {
  return I18N.t("op.local_time", { zone: Intl.DateTimeFormat().resolvedOptions().timeZone });
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

async function call(method, path, body) {
  const headers = { "X-CSRF-Token": session.csrf };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const options = { method, headers, body: body === undefined ? undefined : JSON.stringify(body) };
  // An unreachable server (restarting, the network gone) is told as "unavailable", never an uncaught error.
  const response = await fetch(path, options).catch(() => new Response("{}", { status: 503 }));
  if (response.status === 401) signedOut();
  return response;
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

/** POST an action; a refusal is shown in #error (and returned: its text), success clears the last one. */
async function post(path, body) {
  const response = await call("POST", path, body);
  const refused = response.ok ? { code: "", text: "", detail: "" } : await refusal(response);
  $("error").textContent = refused.text;
  Object.assign($("error").dataset, { code: refused.code, detail: refused.detail });
  return refused.text;
}

/* -------------------------------------------------------------- sign-in */
function signedIn(current) {
  session.csrf = current.csrf;
  $("login").hidden = true;
  $("logout").hidden = false;
  $("who").textContent = I18N.t("op.signed_in", { name: current.name, role: label("op.role", current.role) });
  $("who").dataset.role = current.role;
  session.signedIn(current);
}

function signedOut() {
  session.csrf = "";
  $("login").hidden = false;
  $("logout").hidden = true;
  $("who").textContent = "";
  session.signedOut();
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
    signedIn(await response.json());
  } else {
    $("login-error").textContent = I18N.t(response.status === 429 ? "op.too_many" : "op.login_failed");
  }
}

async function logout() {
  await call("POST", "/operator/logout");
  signedOut();
}

/** Load the catalogue, wire the login form and the logout button, then resume a live session or ask to log in. */
async function startSession(hooks) {
  Object.assign(session, hooks);
  await I18N.load();
  document.querySelector("nav.lang").setAttribute("aria-label", I18N.t("op.languages"));
  $("login").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  const response = await fetch("/operator/session");
  if (response.ok) signedIn(await response.json());
  else signedOut();
}
