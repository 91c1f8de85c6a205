// The token management page: lists, creates and revokes the user's tokens
// and shows their change history, all through the gateway's REST API.
// Plain JavaScript, no build step, no external assets.
"use strict";

(() => {
  const root = document.getElementById("token-page");
  if (!root) return;

  const API = root.dataset.apiUrl;
  const HISTORY_PAGE_SIZE = 20;
  const TYPE_ORDER = ["session", "user", "notebook", "internal", "service"];
  const TYPE_LABELS = {
    session: "Browser sessions",
    user: "User tokens",
    notebook: "Notebook tokens",
    internal: "Internal tokens",
    service: "Service tokens",
  };

  const $ = (id) => document.getElementById(id);
  const state = {
    username: root.dataset.username,
    csrf: null,
    scopes: [],
    scopeDescriptions: new Map(),
    currentKey: null,
    historyKey: null,
    historyUrl: null,
  };

  // --- Small helpers -----------------------------------------------------

  /** Make an element with attributes and children (strings become text). */
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /** A time (seconds since the epoch) as a <time> element, or a dash. */
  function timeCell(seconds, none = "—") {
    if (seconds === null || seconds === undefined) return none;
    const date = new Date(seconds * 1000);
    const iso = date.toISOString();
    return el("time", { datetime: iso, title: date.toString() },
      iso.slice(0, 16).replace("T", " "));
  }

  function scopeList(scopes) {
    if (!scopes || scopes.length === 0) return el("span", { class: "hint", text: "none" });
    return el("ul", { class: "scope-tags" },
      [...scopes].sort().map((s) => el("li", { title: state.scopeDescriptions.get(s) || "" }, s)));
  }

  /** An error thrown for a failed API call, with a readable message. */
  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  function describeFailure(status, body) {
    const detail = body && body.detail;
    let message;
    if (typeof detail === "string") {
      message = detail;
    } else if (Array.isArray(detail) && detail.length > 0) {
      message = detail.map((d) => {
        const where = Array.isArray(d.loc) ? d.loc.filter((p) => p !== "body").join(".") : "";
        return where ? `${where}: ${d.msg}` : d.msg;
      }).join("; ");
    } else {
      message = `The server answered ${status}`;
    }
    if (status === 401) message += ". Your session may have ended: log in again.";
    return message;
  }

  /** Call the API; JSON in and out, CSRF header on writes. */
  async function api(method, path, body) {
    const url = path.startsWith("http") || path.startsWith("/") ? path : `${API}/${path}`;
    const headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRF-Token"] = state.csrf || "";
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(url, {
        method,
        headers,
        credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new ApiError(0, `Could not reach the server (${e.message})`);
    }
    let data = null;
    if (response.status !== 204) {
      try {
        data = await response.json();
      } catch {
        data = null;
      }
    }
    if (!response.ok) throw new ApiError(response.status, describeFailure(response.status, data));
    return { data, response };
  }

  function showError(box, error) {
    const message = error instanceof Error ? error.message : String(error);
    box.replaceChildren(el("p", { text: message }));
    box.hidden = false;
  }

  function clearError(box) {
    box.hidden = true;
    box.replaceChildren();
  }

  /** Parse an RFC 8288 Link header into {rel: url}. */
  function parseLinks(header) {
    const links = {};
    if (!header) return links;
    for (const part of header.split(",")) {
      const match = part.match(/<([^>]*)>\s*;\s*rel="?([^";]+)"?/);
      if (!match) continue;
      // Keep only path and query: the page talks to its own origin.
      const url = new URL(match[1], window.location.href);
      links[match[2]] = url.pathname + url.search;
    }
    return links;
  }

  // --- Loading -----------------------------------------------------------

  async function loadLogin() {
    const { data } = await api("GET", "login");
    state.csrf = data.csrf;
    state.username = data.username;
    state.scopes = data.scopes;
    for (const scope of data.config.scopes) state.scopeDescriptions.set(scope.name, scope.description);
    renderScopeChoices();
  }

  function renderScopeChoices() {
    const list = $("scope-list");
    const known = [...state.scopeDescriptions.keys()];
    const mine = known.filter((s) => state.scopes.includes(s));
    if (mine.length === 0) {
      list.replaceChildren(el("p", { class: "hint", text: "You hold no scopes to give." }));
      return;
    }
    list.replaceChildren(...mine.map((scope) => {
      const id = `scope-${scope.replace(/[^a-z0-9]/gi, "-")}`;
      return el("div", { class: "choice" },
        el("input", { type: "checkbox", id, name: "scopes", value: scope }),
        el("label", { for: id },
          el("code", {}, scope), " ",
          el("span", { class: "hint" }, state.scopeDescriptions.get(scope) || "")));
    }));
  }

  async function loadCurrentKey() {
    try {
      const { data } = await api("GET", "token-info");
      state.currentKey = data.token;
    } catch {
      state.currentKey = null;
    }
  }

  async function loadTokens() {
    const box = $("token-groups");
    box.setAttribute("aria-busy", "true");
    try {
      const { data } = await api("GET", `users/${encodeURIComponent(state.username)}/tokens`);
      renderTokens(data);
    } catch (e) {
      showError($("page-error"), e);
    } finally {
      box.setAttribute("aria-busy", "false");
    }
  }

  function renderTokens(tokens) {
    const box = $("token-groups");
    if (tokens.length === 0) {
      box.replaceChildren(el("p", { text: "You have no tokens." }));
      return;
    }
    const groups = new Map();
    for (const token of tokens) {
      if (!groups.has(token.token_type)) groups.set(token.token_type, []);
      groups.get(token.token_type).push(token);
    }
    const order = [...TYPE_ORDER, ...[...groups.keys()].filter((t) => !TYPE_ORDER.includes(t))];
    const sections = [];
    for (const type of order) {
      const members = groups.get(type);
      if (!members) continue;
      members.sort((a, b) => b.created - a.created);
      const headingId = `tokens-${type}`;
      sections.push(el("section", { class: "token-group", "data-token-type": type, "aria-labelledby": headingId },
        el("h3", { id: headingId }, `${TYPE_LABELS[type] || type} `,
          el("span", { class: "count" }, `(${members.length})`)),
        el("div", { class: "table-wrap" },
          el("table", { "aria-labelledby": headingId },
            el("thead", {}, el("tr", {},
              ["Name", "Token", "Scopes", "Created (UTC)", "Last used (UTC)", "Expires (UTC)",
                "Actions"]
                .map((h) => el("th", { scope: "col" }, h)))),
            el("tbody", {}, members.map(tokenRow))))));
    }
    box.replaceChildren(...sections);
  }

  function tokenRow(token) {
    const label = token.token_name || token.token;
    const isCurrent = token.token === state.currentKey;
    const name = token.token_name
      ? el("span", { class: "token-name" }, token.token_name)
      : el("span", { class: "hint" }, token.service ? `for ${token.service}` : "—");
    return el("tr", { "data-key": token.token },
      el("td", {}, name, isCurrent ? el("span", { class: "badge" }, "this browser") : null),
      el("td", {}, el("code", {}, token.token)),
      el("td", {}, scopeList(token.scopes)),
      el("td", {}, timeCell(token.created)),
      el("td", {}, timeCell(token.last_used, "never")),
      el("td", {}, timeCell(token.expires, "never")),
      el("td", { class: "actions" },
        el("button", {
          type: "button", class: "button--quiet",
          "aria-label": `Show history of token ${label}`,
          onclick: () => showTokenHistory(token),
        }, "History"),
        el("button", {
          type: "button", class: "button--danger",
          "aria-label": `Revoke token ${label}`,
          onclick: () => confirmRevoke(token),
        }, "Revoke")));
  }

  // --- History -----------------------------------------------------------

  const ACTIONS = { create: "Created", edit: "Changed", revoke: "Revoked", expire: "Expired" };

  function historyRow(entry) {
    const token = el("span", {}, el("code", {}, entry.token),
      entry.token_name ? el("span", { class: "hint" }, ` ${entry.token_name}`) : null);
    const scopes = el("div", {}, scopeList(entry.scopes));
    if (entry.old_scopes) {
      scopes.append(el("div", { class: "hint" }, "was: ", entry.old_scopes.join(", ") || "none"));
    }
    const expires = el("div", {}, timeCell(entry.expires, "never"));
    if (entry.action === "edit" && (entry.old_expires !== null && entry.old_expires !== undefined)) {
      expires.append(el("div", { class: "hint" }, "was: ", timeCell(entry.old_expires)));
    }
    return el("tr", { "data-action": entry.action, "data-key": entry.token },
      el("td", {}, timeCell(entry.event_time)),
      el("td", {}, ACTIONS[entry.action] || entry.action),
      el("td", {}, token),
      el("td", {}, entry.token_type),
      el("td", {}, scopes),
      el("td", {}, expires),
      el("td", {}, entry.actor || "—"),
      el("td", {}, entry.ip_address || "—"));
  }

  function renderHistory(entries) {
    const rows = $("history-rows");
    if (entries.length === 0) {
      rows.replaceChildren(el("tr", {}, el("td", { colspan: 8, class: "hint" }, "No changes recorded.")));
    } else {
      rows.replaceChildren(...entries.map(historyRow));
    }
  }

  async function loadUserHistory(url) {
    state.historyKey = null;
    state.historyUrl = url
      || `${API}/users/${encodeURIComponent(state.username)}/token-change-history?limit=${HISTORY_PAGE_SIZE}`;
    $("history-subject").textContent = "All your tokens";
    $("history-all").hidden = true;
    try {
      const { data, response } = await api("GET", state.historyUrl);
      renderHistory(data);
      const links = parseLinks(response.headers.get("Link"));
      const total = response.headers.get("X-Total-Count");
      setPager(links.prev, links.next, total === null ? "" : `${total} changes in all`);
    } catch (e) {
      showError($("page-error"), e);
    }
  }

  function setPager(prev, next, text) {
    const newer = $("history-newer");
    const older = $("history-older");
    newer.hidden = !prev;
    older.hidden = !next;
    newer.onclick = prev ? () => loadUserHistory(prev) : null;
    older.onclick = next ? () => loadUserHistory(next) : null;
    $("history-count").textContent = text;
  }

  async function showTokenHistory(token) {
    state.historyKey = token.token;
    const user = encodeURIComponent(state.username);
    try {
      const { data } = await api("GET", `users/${user}/tokens/${token.token}/change-history`);
      $("history-subject").replaceChildren("Token ", el("code", {}, token.token),
        token.token_name ? ` (${token.token_name})` : "");
      $("history-all").hidden = false;
      renderHistory(data);
      setPager(null, null, `${data.length} changes`);
      $("history-heading").scrollIntoView({ block: "start" });
    } catch (e) {
      showError($("page-error"), e);
    }
  }

  // --- Creating ----------------------------------------------------------

  function expiryFromForm() {
    const form = $("create-form");
    if (form.elements.expiry.value !== "date") return null;
    const value = $("expires-date").value;
    if (!value) throw new Error("Choose the date on which the token expires.");
    const [year, month, day] = value.split("-").map(Number);
    // The end of the chosen day, in the browser's time zone.
    const end = new Date(year, month - 1, day, 23, 59, 59);
    if (Number.isNaN(end.getTime())) throw new Error("The expiry date is not a valid date.");
    if (end.getTime() <= Date.now()) throw new Error("The expiry date must be in the future.");
    return Math.floor(end.getTime() / 1000);
  }

  async function createToken(event) {
    event.preventDefault();
    const form = $("create-form");
    const errorBox = $("create-error");
    clearError(errorBox);
    const nameInput = $("token-name");
    const name = nameInput.value.trim();
    nameInput.removeAttribute("aria-invalid");
    if (!name) {
      nameInput.setAttribute("aria-invalid", "true");
      showError(errorBox, "Give the token a name.");
      nameInput.focus();
      return;
    }
    let expires;
    try {
      expires = expiryFromForm();
    } catch (e) {
      showError(errorBox, e);
      return;
    }
    const scopes = [...form.querySelectorAll('input[name="scopes"]:checked')].map((c) => c.value);
    const button = $("create-button");
    button.disabled = true;
    try {
      const { data } = await api("POST", `users/${encodeURIComponent(state.username)}/tokens`,
        { token_name: name, scopes, expires });
      form.reset();
      showNewToken(data.token);
      await Promise.all([loadTokens(), refreshHistory()]);
    } catch (e) {
      showError(errorBox, e);
    } finally {
      button.disabled = false;
    }
  }

  function showNewToken(token) {
    const box = $("new-token");
    $("new-token-value").value = token;
    $("copy-status").textContent = "";
    box.hidden = false;
    $("new-token-heading").focus();
  }

  async function copyToken() {
    const input = $("new-token-value");
    const status = $("copy-status");
    try {
      await navigator.clipboard.writeText(input.value);
      status.textContent = "Copied to the clipboard.";
    } catch {
      input.select();
      const copied = document.execCommand && document.execCommand("copy");
      status.textContent = copied
        ? "Copied to the clipboard."
        : "Could not copy automatically: select the token and copy it.";
    }
  }

  function dismissToken() {
    $("new-token-value").value = "";
    $("new-token").hidden = true;
    $("token-name").focus();
  }

  // --- Revoking ----------------------------------------------------------

  function confirmRevoke(token) {
    const dialog = $("revoke-dialog");
    const label = token.token_name ? `“${token.token_name}” (${token.token})` : token.token;
    const warning = token.token === state.currentKey
      ? " This is the session of this browser: you will be logged out."
      : "";
    $("revoke-text").textContent =
      `Token ${label} and every token made from it will stop working at once.${warning}`;
    dialog.returnValue = "";
    dialog.onclose = () => {
      if (dialog.returnValue === "revoke") revokeToken(token);
    };
    dialog.showModal();
  }

  async function revokeToken(token) {
    clearError($("page-error"));
    const user = encodeURIComponent(state.username);
    try {
      await api("DELETE", `users/${user}/tokens/${token.token}`);
    } catch (e) {
      showError($("page-error"), e);
      return;
    }
    if (token.token === state.currentKey) {
      window.location.assign("/login");
      return;
    }
    await Promise.all([loadTokens(), refreshHistory()]);
  }

  function refreshHistory() {
    if (state.historyKey) {
      return showTokenHistory({ token: state.historyKey });
    }
    return loadUserHistory();
  }

  // --- Start -------------------------------------------------------------

  async function start() {
    $("create-form").addEventListener("submit", createToken);
    $("copy-token").addEventListener("click", copyToken);
    $("dismiss-token").addEventListener("click", dismissToken);
    $("history-all").addEventListener("click", () => loadUserHistory());
    $("expires-date").addEventListener("input", () => {
      $("expiry-on-date").checked = true;
    });
    const today = new Date();
    const pad = (n) => String(n).padStart(2, "0");
    $("expires-date").min = `${today.getFullYear()}-${pad(today.getMonth() + 1)}-${pad(today.getDate())}`;
    try {
      await loadLogin();
    } catch (e) {
      showError($("page-error"), e);
      $("create-button").disabled = true;
      return;
    }
    await loadCurrentKey();
    await Promise.all([loadTokens(), loadUserHistory()]);
    root.dataset.ready = "true";
  }

  start();
})();
