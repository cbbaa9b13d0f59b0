/* The fleet console at the centre: every bank (online or offline since when, last seen, head, events, alarms),
   every open alarm across the fleet with its evidence and a clear action, the fleet alarms cleared lately (by
   whom, when, the note), a bank's compartments and recent events folded from the centre's copy. Read again every few seconds; words from the catalogues (fleet.*, and
   the bank console's op.* for states, alarm reasons, events and refusals); times in the browser's zone.
   Sign-in and the shared helpers are console-common.js's. */
"use strict";
const POLL_MS = 3000;
const fleetState = { timer: null, bank: null, clearing: null, sent: new Set(), evidence: new Map(), unread: false };

function showLogin() {
  $("fleet").hidden = true;
  clearInterval(fleetState.timer);
}

function showFleet() {
  $("fleet").hidden = false;
  $("zone").textContent = zoneNote();
  refresh();
  clearInterval(fleetState.timer);
  fleetState.timer = setInterval(refresh, POLL_MS);
}

/** GET a fleet document; null (and the reason shown) when refused or unreachable. */
async function read(path) {
  const response = await call("GET", path);
  if (response.ok) return response.json();
  if (response.status !== 401) $("error").textContent = (await refusal(response)).text;
  fleetState.unread = true;
  return null;
}

async function refresh() {
  const [banks, alarms] = await Promise.all([read("/fleet/banks"), read("/fleet/alarms")]);
  if (banks && alarms && fleetState.unread) { $("error").textContent = ""; fleetState.unread = false; }  // back
  if (banks) $("bank-rows").replaceChildren(...banks.banks.map(bankRow));
  if (alarms) showAlarms(alarms.alarms);
  if (alarms) $("cleared").replaceChildren(...(alarms.cleared ?? []).map(clearedItem));
  if (fleetState.bank) await showBank(fleetState.bank);
}

/* -------------------------------------------------------------- banks */
function bankRow(bank) {
  const row = element("tr", undefined, { "data-bank": bank.id, "data-online": String(bank.online),
    "data-testid": "bank-row" });
  const status = bank.online ? I18N.t("fleet.online")
    : bank.offline_since ? I18N.t("fleet.offline_since", { since: localTime(bank.offline_since) })
      : I18N.t("fleet.never_seen");
  const seen = bank.last_seen ? element("time", localTime(bank.last_seen), { datetime: bank.last_seen }) : "—";
  const cells = [bank.id, status, seen, bank.head_position, bank.events, bank.open_alarms];
  for (const value of cells) {
    const cell = element("td");
    cell.append(value instanceof Node ? value : String(value));
    row.append(cell);
  }
  row.children[1].className = bank.online ? "online" : "offline";
  const open = button("fleet.show", "show-bank", () => selectBank(bank.id));
  open.setAttribute("aria-label", I18N.t("fleet.show_bank", { bank: bank.id }));
  row.append(element("td"));
  row.lastChild.append(open);
  return row;
}

async function selectBank(id) {
  fleetState.bank = id;
  await showBank(id);
  $("bank").scrollIntoView();
}

async function showBank(id) {
  const [compartments, recent] = await Promise.all([
    read(`/fleet/banks/${encodeURIComponent(id)}/compartments`),
    read(`/fleet/banks/${encodeURIComponent(id)}/events?limit=50`),
  ]);
  if (!compartments || !recent) return;
  $("bank").hidden = false;
  $("bank").dataset.bank = id;
  $("bank-title").textContent = I18N.t("fleet.bank_title", { bank: id });
  $("compartments").replaceChildren(...compartments.compartments.map(tile));
  $("timeline").replaceChildren(...recent.events.reverse().map((e) => timelineEntry(e, e.position)));
}

function tile(k) {
  const el = element("article", undefined, { "data-compartment": k.id, "data-state": k.state, class: "tile" });
  el.append(element("h3", k.id), element("p", label("op.state", k.state), { class: "state" }));
  el.append(element("p", label("op.door", k.door), { class: "door-state" }));
  if (k.alarm) el.append(element("p", label("op.alarm", k.alarm), { class: "alarm" }));
  return el;
}

/* -------------------------------------------------------------- alarms */
function alarmKey(alarm) {
  return alarm.source === "fleet" ? `fleet:${alarm.id}` : `${alarm.bank_id}/${alarm.compartment_id}`;
}

function showAlarms(alarms) {
  const open = new Set(alarms.map(alarmKey));
  for (const key of [...fleetState.sent].filter((sent) => !open.has(sent))) {
    fleetState.sent.delete(key);  // the bank ran the clear and its AlarmCleared came back in its log
    $("notice").textContent = I18N.t("fleet.cleared");
  }
  for (const key of [...fleetState.evidence.keys()].filter((seen) => !open.has(seen))) fleetState.evidence.delete(key);
  $("no-alarms").hidden = alarms.length > 0;
  $("alarms").replaceChildren(...alarms.map(alarmItem));
}

function alarmItem(alarm) {
  const key = alarmKey(alarm);
  const where = alarm.source === "fleet" ? I18N.t("fleet.whole_bank")
    : I18N.t("fleet.compartment", { id: alarm.compartment_id });
  const reason = alarm.source === "fleet" ? label("fleet.alarm", alarm.kind) : label("op.alarm", alarm.kind);
  const item = element("li", undefined, { "data-alarm": key, "data-bank": alarm.bank_id, "data-kind": alarm.kind,
    "data-testid": "alarm", class: "alarm-item" });
  item.append(element("strong", `${alarm.bank_id} · ${where} · ${reason}`));
  const evidence = element("p", fleetState.evidence.get(key) ?? "", { class: "evidence", "data-testid": "evidence" });
  item.append(evidence);
  if (!fleetState.evidence.has(key)) findEvidence(alarm, key, evidence);
  if (fleetState.sent.has(key)) item.append(element("p", I18N.t("fleet.clear_sent"), { "data-testid": "sent" }));
  else item.append(button("op.clear", "clear-alarm", () => askToClear(alarm)));
  return item;
}

/** A fleet alarm cleared at the centre: what it was, who cleared it, when, and the note they typed. */
function clearedItem(alarm) {
  const item = element("li", undefined, { "data-alarm": alarmKey(alarm), "data-testid": "cleared-alarm" });
  const when = element("time", localTime(alarm.cleared_at), { datetime: alarm.cleared_at });
  item.append(element("strong", `${alarm.bank_id} · ${label("fleet.alarm", alarm.kind)}`), " — ", when,
    ` ${I18N.t("fleet.cleared_by", { name: alarm.cleared_by })}: ${alarm.cleared_note || "—"}`);
  return item;
}

/** A fleet alarm's detail in the page's language (its code's words, times local); an old alarm's English text. */
function fleetDetail(alarm) {
  const key = `fleet.detail.${alarm.detail_code}`;
  if (!alarm.detail_code || !I18N.has(key)) return alarm.detail;
  const args = Object.entries(alarm.detail_args ?? {})
    .map(([name, value]) => [name, name.endsWith("_at") ? localTime(value) : value]);
  return I18N.t(key, Object.fromEntries(args));
}

/** A fleet alarm's evidence is its own; a compartment's is its last AlarmRaised in the centre's copy. */
async function findEvidence(alarm, key, target) {
  let text = `${I18N.t("op.evidence")}: ${localTime(alarm.raised_at)} ${label("op.field", "detail")}: `
    + fleetDetail(alarm);
  if (alarm.source !== "fleet") {
    const bank = encodeURIComponent(alarm.bank_id), cid = encodeURIComponent(alarm.compartment_id);
    const found = await read(`/fleet/banks/${bank}/events?compartment_id=${cid}&limit=20`);
    const raised = found ? found.events.filter((e) => e.type === "AlarmRaised").pop() : null;
    text = raised ? `${I18N.t("op.evidence")}: ${localTime(raised.occurred_at)} ${describe(raised, ["reason"])}`
      : `${I18N.t("op.evidence")}: ${label("op.field", "detail")}: ${alarm.detail || "—"}`;
  }
  fleetState.evidence.set(key, text);
  target.textContent = text;
}

function askToClear(alarm, note = "", refused = "") {
  fleetState.clearing = alarm;
  const where = alarm.source === "fleet" ? I18N.t("fleet.whole_bank")
    : I18N.t("fleet.compartment", { id: alarm.compartment_id });
  $("clear-title").textContent = I18N.t("fleet.clear_title", { bank: alarm.bank_id, where });
  $("clear-note").value = note;
  $("clear-error").textContent = refused;
  $("clear-dialog").showModal();
}

/** A fleet alarm is cleared at the centre; a compartment's by a clear_alarm command its bank pulls and runs. */
async function onClearClosed() {
  const alarm = fleetState.clearing;
  fleetState.clearing = null;
  if ($("clear-dialog").returnValue !== "confirm" || alarm == null) return;
  const note = $("clear-note").value;
  const refused = alarm.source === "fleet"
    ? await post(`/fleet/alarms/${alarm.id}/clear`, { note })
    : await post(`/fleet/banks/${encodeURIComponent(alarm.bank_id)}/commands`,
      { action: "clear_alarm", compartment_id: alarm.compartment_id, note });
  // Refused (not this operator's bank, cleared meanwhile...): the typed note comes back with the reason.
  if (refused) { askToClear(alarm, note, refused); return; }
  if (alarm.source !== "fleet") fleetState.sent.add(alarmKey(alarm));
  $("notice").textContent = I18N.t(alarm.source === "fleet" ? "fleet.cleared" : "fleet.clear_sent");
  await refresh();
}

async function start() {
  $("clear-dialog").addEventListener("close", onClearClosed);
  await startSession({ signedIn: showFleet, signedOut: showLogin });
}

start();
