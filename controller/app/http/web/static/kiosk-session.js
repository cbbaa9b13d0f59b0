/* One person's session at the kiosk: it ends (the page resets) only after a warning with "more time". */
"use strict";
const params = new URLSearchParams(location.search);
/** Seconds from a query parameter (tests shorten the timings; a kiosk's URL is the defaults'). */
function seconds(name, fallback) {
  const value = Number(params.get(name));
  return value > 0 ? value : fallback;
}
const Session = {
  idleMs: seconds("idle_s", 90) * 1000,  // no touch for this long: the session ends...
  warnMs: seconds("warn_s", 30) * 1000,  // ...after a warning this long before (WCAG 2.2.1: at least 20 s)
  holdMs: seconds("hold_s", 8) * 1000,  // how long an outcome stays before the welcome text returns
  timer: null,
  countdown: null,
  deadline: 0,
  extensions: 0,
  paused: false,
  onReset: () => {},
  isActive: () => false,
  /** Someone did something (or the flow moved on): the idle clock starts again. */
  touch() {
    if (!document.getElementById("timeout").hidden) return;  // warned: only a person's answer counts now
    clearTimeout(this.timer);
    if (this.paused || !this.isActive()) return;
    this.timer = setTimeout(() => this.warn(), Math.max(0, this.idleMs - this.warnMs));
  },
  /** While a door is open the flow owns the screen: no reset then. */
  pause(paused) {
    this.paused = paused;
    if (paused) this.hideWarning();
    this.touch();
  },
  warn() {
    this.deadline = Date.now() + this.warnMs;
    document.getElementById("timeout").hidden = false;
    this.tick();
    Voice.say(document.getElementById("timeout-text").textContent);
    this.countdown = setInterval(() => this.tick(), 1000);
    document.getElementById("more-time").focus();
  },
  tick() {
    const left = Math.max(0, Math.ceil((this.deadline - Date.now()) / 1000));
    document.getElementById("timeout-text").textContent = I18N.t("kiosk.timeout_warning", { seconds: left });
    if (left === 0) this.end();
  },
  /** "More time": as often as the person needs (never fewer than ten times). */
  extend() {
    this.extensions += 1;
    this.hideWarning();
    this.touch();
  },
  hideWarning() {
    clearInterval(this.countdown);
    const dialog = document.getElementById("timeout");
    if (!dialog.hidden && dialog.contains(document.activeElement)) document.getElementById("message").focus();
    dialog.hidden = true;
  },
  end() {
    this.hideWarning();
    clearTimeout(this.timer);
    this.extensions = 0;
    this.onReset();
  },
  setUp(isActive, onReset) {
    this.isActive = isActive;
    this.onReset = onReset;
    document.getElementById("more-time").addEventListener("click", () => this.extend());
    for (const kind of ["pointerdown", "keydown", "input"]) {
      // Every key in the PIN field counts: a PIN being typed never expires.
      document.addEventListener(kind, (event) => {
        if (event.target.closest && event.target.closest("#timeout")) return;
        this.hideWarning();
        this.touch();
      }, true);
    }
  },
};
