/* The help button: on every screen it calls staff (POST /kiosk/help), then follows the call until answered. */
"use strict";
const HELP_POLL_MS = 2000;

function screenName() {
  if (!$("timeout").hidden) return "timeout";
  if (kiosk.mode === "enrolling") return "deposit";
  if (kiosk.mode.endsWith("-open")) return "door-open";
  if (!$("pin").hidden) return "pin-shown";
  if ($("pin-input").value || document.activeElement?.closest("#pin-form")) return "pin-entry";
  if (kiosk.verdict || $("message").dataset.key !== "kiosk.welcome") return "message";  // a refusal or an outcome
  return "welcome";
}

function helpSays(key) {
  $("help-status").hidden = false;
  $("help-status").dataset.key = key;
  $("help-status").textContent = I18N.t(key);
  Voice.say(I18N.t(key));
}

async function askHelp() {
  if (kiosk.helpId !== null) return helpSays("kiosk.help_requested");  // asked already: say so again
  let response = null;
  try {
    response = await fetch("/kiosk/help", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ screen: screenName() }),
    });
  } catch (error) {
    response = null;
  }
  if (!response || response.status !== 202) return helpSays("kiosk.help_failed");
  kiosk.helpId = (await response.json()).help_id;
  helpSays("kiosk.help_requested");
  kiosk.helpTimer = setInterval(followHelp, HELP_POLL_MS);
}

async function followHelp() {
  const response = await fetch(`/kiosk/help/${encodeURIComponent(kiosk.helpId)}`).catch(() => null);
  if (!response || !response.ok) return;
  if ((await response.json()).state === "answered") {
    clearInterval(kiosk.helpTimer);
    helpSays("kiosk.help_answered");
  }
}

function endHelp() {
  clearInterval(kiosk.helpTimer);
  kiosk.helpId = null;
  $("help-status").hidden = true;
  $("help-status").textContent = "";
}
