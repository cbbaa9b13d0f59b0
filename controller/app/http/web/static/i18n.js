/* Message catalogues: the page's lang attribute (set by the server from ?lang=) picks static/i18n/<lang>.json. */
"use strict";
const I18N = {
  lang: document.documentElement.lang || "ko",
  messages: {},
  async load() {
    const response = await fetch(`/assets/i18n/${this.lang}.json`);
    this.messages = await response.json();
    document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = this.t(el.dataset.i18n); });
    // Names of groups and regions (read by screen readers) in the page's language too.
    document.querySelectorAll("[data-i18n-label]").forEach((el) => {
      el.setAttribute("aria-label", this.t(el.dataset.i18nLabel));
    });
    document.querySelectorAll("a[href^='?lang=']").forEach((a) => {
      a.classList.toggle("current", a.getAttribute("lang") === this.lang);
      if (a.getAttribute("lang") === this.lang) a.setAttribute("aria-current", "true");
    });
    document.title = this.t(document.querySelector("title").dataset.i18n);
  },
  t(key, vars = {}) {
    const text = this.messages[key] ?? this.messages["reason.unknown"] ?? key;
    return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
  },
  has(key) { return key in this.messages; },
  /** Keep ?lang= on links and requests that load another page. */
  query() { return this.lang === "ko" ? "" : `?lang=${this.lang}`; },
};
