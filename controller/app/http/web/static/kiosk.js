/* The kiosk: one instruction at a time in #message, driven by the deposit call and the /kiosk/feed stream.
   kiosk-session.js ends a session only after a warning; kiosk-voice.js speaks what #message says;
   kiosk-help.js calls staff. */
"use strict";
const $ = (id) => document.getElementById(id);
const QUIET_REASONS = new Set(["no_face", "low_probability"]);
const VERDICTS = new Set(["not_recognised", "liveness_failed", "locked_out", "contact_operator"]);
const kiosk = {
  mode: "idle", verdict: null, door: null, openDoors: new Set(), welcomeTimer: null, holdUntil: 0,
  largerText: false, helpId: null, helpTimer: null,
};

function say(key, vars = {}, hold = false) {
  const text = I18N.t(key, vars);
  const changed = $("message").textContent !== text;
  $("message").textContent = text;
  $("message").dataset.key = key;
  if (hold) kiosk.holdUntil = Date.now() + Session.holdMs;
  if (changed) Voice.say(text);
}

function showDoor(door) {
  kiosk.door = door;
  $("door").hidden = door == null;
  $("door-number").textContent = door ?? "";
  renderDoorControls();
}

function showPin(pin) {
  // Shown until the person says they have it (or the session ends): the server keeps only its hash.
  $("pin").hidden = !pin;
  $("pin-code").textContent = pin || "";
}

function welcome() {
  clearTimeout(kiosk.welcomeTimer);
  kiosk.mode = "idle";
  showDoor(null);
  $("enrol").hidden = true;
  $("deposit").disabled = false;
  say("kiosk.welcome");
}

function welcomeLater() {
  clearTimeout(kiosk.welcomeTimer);
  kiosk.welcomeTimer = setTimeout(welcome, Session.holdMs);
}

/** The session ended (after its warning): nothing of this person stays on screen for the next one. */
function reset() {
  showPin(null);
  $("pin-input").value = "";
  setLargerText(false);
  Voice.toggle(false);
  endHelp();
  kiosk.verdict = null;
  welcome();
  $("deposit").focus();
}

function pristine() {
  return kiosk.mode === "idle" && $("pin").hidden && !$("pin-input").value && !kiosk.largerText && !Voice.on
    && kiosk.helpId === null && $("message").dataset.key === "kiosk.welcome";
}

async function deposit() {
  clearTimeout(kiosk.welcomeTimer);
  kiosk.mode = "enrolling";
  $("deposit").disabled = true;
  $("message").focus();  // the pressed button is disabled now: focus goes to what the kiosk says, not to body
  showDoor(null);
  say("kiosk.look_at_camera");
  let response = null;
  try {
    response = await fetch("/deposit", { method: "POST" });
  } catch (error) {
    response = null;
  }
  $("enrol").hidden = true;
  if (response && response.status === 201) {
    const receipt = await response.json();
    if (receipt.pulse && receipt.pulse !== "sent") {
      showPin(receipt.pin);  // the door may have opened all the same: the PIN is this person's way back
      unlockFailed({ door: receipt.compartment_id, pulse: receipt.pulse });
      return;
    }
    kiosk.mode = "deposit-open";
    Session.pause(true);
    showDoor(receipt.compartment_id);
    showPin(receipt.pin);
    say("kiosk.deposit_open", { door: receipt.compartment_id });
    return;
  }
  // 503: no frame came from the camera in the enrolment's time, or the log refuses writes (dead camera, full disk).
  const failures = { 409: "kiosk.full", 401: "kiosk.not_paired", 422: "kiosk.enrol_failed", 503: "kiosk.unavailable" };
  say(response ? failures[response.status] || "kiosk.error" : "kiosk.offline", {}, true);
  $("deposit").disabled = false;
  kiosk.mode = "idle";
  $("deposit").focus();
  Session.touch();
  welcomeLater();
}

async function enterPin(event) {
  event.preventDefault();
  const pin = $("pin-input").value.trim();
  $("pin-input").value = "";
  let response = null;
  try {
    response = await fetch("/retrieve/pin", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ pin }),
    });
  } catch (error) {
    response = null;
  }
  if (response && response.ok) {
    const entry = await response.json();
    // A refused pulse is said whether this answer or the feed's message comes last; no pulse: a face must follow.
    if (entry.pulse && entry.pulse !== "sent") unlockFailed({ door: entry.compartment_id, pulse: entry.pulse });
    else if (!entry.unlocked) say("kiosk.pin_then_face", {}, true);
    return;  // an unlock is announced by the feed's door message, as a face's is
  }
  const failures = {
    403: "kiosk.pin_refused", 429: "kiosk.pin_wait", 422: "kiosk.pin_format", 409: "kiosk.contact_operator",
    401: "kiosk.not_paired",
  };
  say(response ? failures[response.status] || "kiosk.error" : "kiosk.offline", {}, true);
}

/* ------------------------------------------------------------------ keypad, larger text, the PIN kept */
function buildKeypad() {
  const keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "clear", "0", "back"];
  for (const key of keys) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.testid = `key-${key}`;
    button.textContent = key === "clear" ? I18N.t("kiosk.key_clear") : key === "back" ? "⌫" : key;
    if (key === "back") button.setAttribute("aria-label", I18N.t("kiosk.key_back"));
    button.addEventListener("click", () => pressKey(key));
    $("keypad").append(button);
  }
}

function pressKey(key) {
  const input = $("pin-input");
  if (key === "clear") input.value = "";
  else if (key === "back") input.value = input.value.slice(0, -1);
  else if (input.value.length < input.maxLength) input.value += key;
  Session.touch();
}

function setLargerText(on) {
  kiosk.largerText = on;
  document.documentElement.classList.toggle("large", on);
  $("larger-text").setAttribute("aria-pressed", String(on));
}

function pinKept() {
  showPin(null);
  welcome();
  $("deposit").focus();
  Session.touch();
}

/* ------------------------------------------------------------------ feed */
function onFace(message) {
  drawBox(message.box);
  if (message.reason === "no_face") kiosk.verdict = null;  // the person left: forget what was said to them
  instruct(message.reason);
}

function onReason(message) {
  // The worker says a verdict once (when it changes); it stays on screen while the same face is there.
  if (VERDICTS.has(message.reason)) kiosk.verdict = message.reason;
  instruct(message.reason);
}

function instruct(reason) {
  if (kiosk.mode === "enrolling") {
    say(reason === "face_ok" ? "kiosk.keep_looking" : `reason.${reason}`);
  } else if (kiosk.mode === "idle" && $("pin").hidden && Date.now() > kiosk.holdUntil) {
    if (QUIET_REASONS.has(reason)) say("kiosk.welcome");
    else if (reason === "face_ok") say(kiosk.verdict ? `reason.${kiosk.verdict}` : "kiosk.checking");
    else say(`reason.${reason}`);
  }
}

function onEnrol(message) {
  $("enrol").hidden = false;
  $("enrol").max = message.needed;
  $("enrol").value = message.good;
}

function onRefused(message) {
  kiosk.verdict = message.reason;
  if (kiosk.mode === "idle" && $("pin").hidden) say(`reason.${message.reason}`, {}, true);
}

function onDoor(message) {
  kiosk.openDoors.delete(message.door);  // an unlock is decided: the door opens after this
}

function onUnlocked(message) {
  // The lock board acknowledged the pulse (or the door is seen open): only now is the door said to be open.
  if (message.purpose !== "retrieval") return;
  kiosk.verdict = null;
  clearTimeout(kiosk.welcomeTimer);
  kiosk.mode = "retrieval-open";
  Session.pause(true);
  showDoor(message.door);
  say("kiosk.retrieval_open", { door: message.door });
  $("message").focus();
}

function onUnlockFailed(message) {
  if (message.purpose === "retrieval") unlockFailed(message);  // a deposit hears it from its own answer
}

function unlockFailed(message) {
  // The board did not answer: the unlock is an alarm for staff, and nobody is told that the door is open.
  kiosk.verdict = null;
  clearTimeout(kiosk.welcomeTimer);
  kiosk.mode = "done";
  showDoor(null);
  $("deposit").disabled = false;
  say(message.pulse === "not_sent" ? "kiosk.unlock_failed" : "kiosk.unlock_unknown", { door: message.door }, true);
  $("message").focus();
  welcomeLater();
}

function onOpened(message) {
  // Doors seen open (the feed can say so before the deposit call has answered).
  kiosk.openDoors.add(message.door);
  renderDoorControls();
}

function onDone(message) {
  kiosk.openDoors.delete(message.door);
  if (message.door !== kiosk.door) return;
  say(message.purpose === "deposit" ? "kiosk.deposit_done" : "kiosk.retrieval_done", { door: message.door }, true);
  kiosk.mode = "done";
  $("door").hidden = true;
  Session.pause(false);
  if (!$("pin").hidden) {
    $("pin-kept").focus();  // the PIN stays until the person says they have it (or the session ends)
    return;
  }
  $("deposit").focus();
  welcomeLater();
}

function listen() {
  const feed = new EventSource("/kiosk/feed");
  const handlers = {
    face: onFace, reason: onReason, enrol: onEnrol, refused: onRefused, door: onDoor, unlocked: onUnlocked,
    unlock_failed: onUnlockFailed, opened: onOpened, done: onDone,
  };
  for (const [kind, handle] of Object.entries(handlers)) {
    feed.addEventListener(kind, (event) => handle(JSON.parse(event.data)));
  }
  feed.addEventListener("open", () => { document.body.dataset.feed = "open"; });
}

function drawBox(box) {
  const el = $("face-box");
  el.hidden = !box;
  if (!box) return;
  const [x1, y1, x2, y2] = box;
  Object.assign(el.style, {
    left: `${x1 * 100}%`, top: `${y1 * 100}%`, width: `${(x2 - x1) * 100}%`, height: `${(y2 - y1) * 100}%`,
  });
}

async function start() {
  await I18N.load();
  buildKeypad();
  Voice.setUp();
  Session.setUp(() => !pristine(), reset);
  welcome();
  $("deposit").addEventListener("click", deposit);
  $("pin-form").addEventListener("submit", enterPin);
  $("pin-kept").addEventListener("click", pinKept);
  $("pin-read").addEventListener("click", () => {
    Voice.toggle(true);
    Voice.say(`${I18N.t("kiosk.your_pin")}: ${$("pin-code").textContent.split("").join(" ")}`);
  });
  $("larger-text").addEventListener("click", () => setLargerText(!kiosk.largerText));
  $("help").addEventListener("click", askHelp);
  listen();
  await setUpSimulator();
  document.body.dataset.ready = "true";
}

start();
