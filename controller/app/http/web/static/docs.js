/* An offline API reference: every path and method of /openapi.json (no CDN, unlike the stock pages). */
"use strict";
async function showPaths() {
  const spec = await (await fetch("/openapi.json")).json();
  const list = document.getElementById("paths");
  for (const [path, methods] of Object.entries(spec.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const item = document.createElement("li");
      const code = document.createElement("code");
      code.textContent = `${method.toUpperCase()} ${path}`;
      item.append(code, ` ${operation.summary || ""}`);
      list.append(item);
    }
  }
}
showPaths();
