// The translation-log viewer: plain DOM, no dependencies. It reads /admin/translations (with the admin
// token from sessionStorage as a bearer header) and /readyz, nothing else; every value is inserted as
// text, never as HTML.
"use strict";

(function () {
  const TOKEN_KEY = "scimgw.adminToken";
  const POLL_MS = 2000;       // how often the newest record is checked while the page is visible
  const READY_MS = 5000;      // how often /readyz is read
  const MAX_BACKOFF_MS = 30000;
  const LIMIT = 200;          // records listed
  const FILTERS = ["scimId", "userName", "op", "outcome", "since"];
  const KNOWN = ["time", "requestId", "traceId", "token", "op", "resourceType", "scimId", "portalId", "userName",
    "changes", "members", "calls", "membersOmitted", "callsOmitted", "outcome", "status", "durationMs", "dryRun",
    "error", "replica", "cut"];

  const $ = (id) => document.getElementById(id);
  const state = { records: [], newest: null, selected: null, backoff: POLL_MS, timer: null, readyTimer: null };

  function el(tag, attrs, ...children) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") n.className = v;
      else if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
      else n.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) {
      if (c === undefined || c === null || c === false) continue;
      n.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return n;
  }

  // --- token --------------------------------------------------------------------------------------
  function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

  function showSignedIn() {
    const signed = token() !== "";
    $("signin").hidden = signed;
    $("signedin").hidden = !signed;
  }

  function message(text, kind) {
    const m = $("message");
    m.textContent = text || "";
    m.className = "message " + (kind || "error");
    m.hidden = !text;
  }

  // forget drops every record shown: after a refused token no data may stay on the page.
  function forget() {
    state.records = [];
    state.newest = null;
    state.selected = null;
    renderList();
    renderDetail();
  }

  // --- filters and the URL hash ---------------------------------------------------------------------
  function filters() {
    const f = {};
    const form = $("filters");
    for (const k of FILTERS) {
      const v = form.elements[k].value.trim();
      if (v) f[k] = v;
    }
    return f;
  }

  function setFilters(f) {
    const form = $("filters");
    for (const k of FILTERS) form.elements[k].value = f[k] || "";
  }

  function hashFilters() {
    const p = new URLSearchParams(location.hash.slice(1));
    const f = {};
    for (const k of FILTERS) if (p.get(k)) f[k] = p.get(k);
    return f;
  }

  function filterHash(f) { return "#" + new URLSearchParams(f).toString(); }

  // --- fetching ----------------------------------------------------------------------------------------
  async function api(query) {
    const resp = await fetch("../translations?" + new URLSearchParams(query).toString(), {
      headers: { "Authorization": "Bearer " + token(), "Accept": "application/json" },
      cache: "no-store", credentials: "omit",
    });
    if (resp.status === 401) throw Object.assign(new Error("The admin token was refused: sign in again."), { auth: true });
    if (resp.status === 403) throw Object.assign(new Error("The admin routes are closed: the gateway has no admin.token."), { auth: true });
    let body = null;
    try { body = await resp.json(); } catch (e) { /* not JSON */ }
    if (!resp.ok) throw new Error((body && body.error) || ("/admin/translations answered " + resp.status));
    return body || { records: [] };
  }

  function recordKey(r) { return [r.replica || "", r.requestId || "", r.time || ""].join("|"); }

  // load reads the records the filters select, and the newest record's key.
  async function load() {
    if (!token()) return;
    const body = await api(Object.assign({ limit: String(LIMIT) }, filters()));
    state.records = Array.isArray(body.records) ? body.records : [];
    setScope(body);
    message(body.warning || "", "warning");
    renderList();
    if (state.selected) {
      const again = state.records.find((r) => recordKey(r) === state.selected);
      if (!again) state.selected = null;
    }
    renderDetail();
  }

  // poll checks the newest record of all (one record: cheap) and reloads the list when it changed.
  async function poll() {
    state.timer = null;
    if (!token()) return;
    if (document.hidden) { schedule(); return; }
    try {
      const head = await api({ limit: "1" });
      const newest = head.records && head.records[0] ? recordKey(head.records[0]) : "";
      if (newest !== state.newest) {
        await load();
        state.newest = newest;
      }
      setLive("live", "ok");
      state.backoff = POLL_MS;
    } catch (e) {
      failed(e);
      state.backoff = Math.min(state.backoff * 2, MAX_BACKOFF_MS);
    }
    schedule();
  }

  function schedule() {
    clearTimeout(state.timer);
    if (token()) state.timer = setTimeout(poll, state.backoff);
  }

  function failed(e) {
    if (e.auth) {
      sessionStorage.removeItem(TOKEN_KEY);
      forget();
      showSignedIn();
      setLive("signed out", "bad");
    } else {
      setLive("retrying", "warn");
    }
    message(e.message || String(e), "error");
  }

  async function refresh() {
    clearTimeout(state.timer);
    try {
      await load();
      const head = await api({ limit: "1" });
      state.newest = head.records && head.records[0] ? recordKey(head.records[0]) : "";
      setLive("live", "ok");
      state.backoff = POLL_MS;
    } catch (e) {
      failed(e);
    }
    schedule();
  }

  // --- the state strip (/readyz) ---------------------------------------------------------------------------
  function chip(id, text, kind, title) {
    const c = $(id);
    c.textContent = text;
    c.className = "chip " + (kind || "");
    if (title) c.title = title;
  }

  function setLive(text, kind) { chip("live", text, kind); }

  function setScope(body) {
    if (body.scope === "fleet") chip("scope", "records: fleet-wide", "ok", "from the Redis stream every replica writes; answered by " + (body.replica || "?"));
    else chip("scope", "records: replica " + (body.replica || ""), "warn", "records of the replica that answered only");
  }

  async function readiness() {
    try {
      const resp = await fetch("../../readyz", { cache: "no-store", credentials: "omit" });
      const body = await resp.json();
      const d = body.detail || {};
      const b = d.breaker || "unknown";
      chip("breaker", "breaker " + b, b === "closed" ? "ok" : b === "open" ? "bad" : "warn");
      const r = d.redis || "unknown";
      chip("redis", "redis " + r, r === "ok" ? "ok" : r === "memory" ? "" : "bad");
      chip("config", "config v" + (d.configVersion ?? "?") + (body.status !== "ready" ? " · " + body.status : ""),
        body.status === "ready" ? "" : "bad");
      renderEndpoints(d.endpoints);
    } catch (e) {
      chip("breaker", "breaker ?", "warn", "/readyz did not answer");
    }
    clearTimeout(state.readyTimer);
    state.readyTimer = setTimeout(readiness, READY_MS);
  }

  function renderEndpoints(eps) {
    const box = $("endpoints");
    box.replaceChildren();
    if (!eps || typeof eps !== "object") return;
    const names = Object.keys(eps).sort();
    const off = names.filter((n) => !eps[n]);
    if (off.length === 0) {
      box.append(el("span", { class: "chip ok", title: names.join(", ") }, "all " + names.length + " endpoints on"));
      return;
    }
    box.append(el("span", { class: "chip", title: names.filter((n) => eps[n]).join(", ") }, (names.length - off.length) + " endpoints on"));
    for (const n of off) box.append(el("span", { class: "chip bad", title: "upstream.endpoints." + n + ".enabled: false" }, n + " off"));
  }

  // --- rendering -------------------------------------------------------------------------------------------
  function fmtTime(t) {
    const d = new Date(t);
    if (isNaN(d)) return String(t ?? "");
    const pad = (n, w = 2) => String(n).padStart(w, "0");
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + "." + pad(d.getMilliseconds(), 3);
  }

  function fmtMs(v) { return typeof v === "number" ? (v < 10 ? v.toFixed(2) : v.toFixed(0)) : ""; }

  function outcomeKind(o) {
    if (["failed", "conflict", "not_found"].includes(o)) return "bad";
    if (o === "dry_run" || o === "unchanged") return "warn";
    return "ok";
  }

  function value(v) {
    if (v === null || v === undefined) return el("span", { class: "nil" }, "(unset)");
    if (typeof v === "string") return v;
    return JSON.stringify(v);
  }

  // userLink links to every record of the record's user (a filter on its SCIM id); short shows the id
  // cut to its first 8 characters, for the list.
  function userLink(r, short) {
    if (!r.scimId) return "";
    const id = String(r.scimId);
    const label = short && id.length > 12 ? id.slice(0, 8) + "…" : id;
    return el("a", { href: filterHash({ scimId: id }), class: "user", "data-id": id, title: "every record of " + id }, label);
  }

  function renderList() {
    const tbody = $("records").tBodies[0];
    tbody.replaceChildren();
    for (const r of state.records) {
      const key = recordKey(r);
      const calls = Array.isArray(r.calls) ? r.calls : [];
      const retries = calls.filter((c) => c.attempt > 1).length;
      const tr = el("tr", {
        class: key === state.selected ? "selected" : "", tabindex: "0", "data-key": key, "data-scim-id": r.scimId || "",
        onclick: (ev) => { if (ev.target.closest("a")) return; select(key); },
        onkeydown: (ev) => { if (ev.key === "Enter") select(key); },
      },
        el("td", { class: "time", title: String(r.time ?? "") }, el("span", { class: "date" }, fmtTime(r.time).slice(0, 10)), " ", fmtTime(r.time).slice(11)),
        el("td", {}, (r.op || "?") + (r.resourceType ? " " + r.resourceType : "")),
        el("td", { class: "who" }, userLink(r, true), r.userName ? el("span", { class: "login" }, r.userName) : null),
        el("td", {}, el("span", { class: "badge " + outcomeKind(r.outcome) }, r.outcome || "?")),
        el("td", { class: "num st" }, r.status ?? ""),
        el("td", { class: "num wide" }, fmtMs(r.durationMs)),
        el("td", { class: "wide" }, calls.length + (retries ? " (" + retries + " retried)" : "")),
        el("td", { class: "wide" }, r.replica || ""),
      );
      tbody.append(tr);
    }
    $("empty").hidden = state.records.length > 0 || !token();
  }

  function select(key) {
    state.selected = state.selected === key ? null : key;
    renderList();
    renderDetail();
    if (state.selected) $("detail").scrollIntoView({ block: "nearest" });
  }

  function table(head, rows) {
    return el("table", { class: "inner" },
      el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))),
      el("tbody", {}, ...rows));
  }

  async function copy(text, button) {
    try {
      await navigator.clipboard.writeText(text);
    } catch (e) {
      const ta = el("textarea", { class: "sr" });
      ta.value = text;
      document.body.append(ta);
      ta.select();
      document.execCommand("copy");
      ta.remove();
    }
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = "Copy JSON"; }, 1500);
  }

  function renderDetail() {
    const box = $("detail");
    const r = state.records.find((x) => recordKey(x) === state.selected);
    box.replaceChildren();
    box.hidden = !r;
    document.body.classList.toggle("has-detail", !!r);
    if (!r) return;

    const changes = Array.isArray(r.changes) ? r.changes : [];
    const calls = Array.isArray(r.calls) ? r.calls : [];
    const copyBtn = el("button", { type: "button", id: "copy-json" }, "Copy JSON");
    copyBtn.addEventListener("click", () => copy(JSON.stringify(r, null, 2), copyBtn));

    const facts = el("dl", { class: "facts" });
    const fact = (k, v) => { if (v !== undefined && v !== null && v !== "") facts.append(el("dt", {}, k), el("dd", {}, v)); };
    fact("time", fmtTime(r.time));
    fact("request id", r.requestId);
    fact("token", r.token);
    fact("SCIM id", r.scimId ? userLink(r) : null);
    fact("portal id", r.portalId);
    fact("trace id", r.traceId);
    fact("userName", r.userName ? el("a", { href: filterHash({ userName: r.userName }), title: "records with this (redacted) login" }, r.userName) : null);
    fact("replica", r.replica);
    fact("duration", fmtMs(r.durationMs) + " ms");
    if (r.dryRun) fact("dry run", "yes: nothing was sent to the portal");

    const extra = Object.keys(r).filter((k) => !KNOWN.includes(k));
    const members = Array.isArray(r.members) ? r.members : [];
    const memberRows = members.map((m) => el("tr", {},
      el("td", {}, m.op ?? ""),
      el("td", { class: "attr" }, m.scimId ? el("a", { href: filterHash({ scimId: m.scimId }), title: "every record of " + m.scimId }, m.scimId) : ""),
      el("td", { class: "num" }, m.idUser ?? "")));
    const changeRows = changes.map((c) => el("tr", { class: "change" },
      el("td", { class: "attr scim" }, c.scim ?? ""), el("td", { class: "attr portal" }, c.portal ?? ""),
      el("td", { class: "old" }, value(c.old)), el("td", { class: "new" }, value(c.new)),
      el("td", { class: "redact", title: "how the values are shown" }, c.redact ?? ""),
      ...Object.keys(c).filter((k) => !["scim", "portal", "old", "new", "redact"].includes(k)).map((k) => el("td", { class: "extra" }, k + ": " + JSON.stringify(c[k])))));
    const callRows = calls.map((c) => el("tr", { class: "call" + (c.status >= 400 || !c.status ? " failed" : "") },
      el("td", { class: "method" }, c.method ?? ""),
      el("td", { class: "route", title: c.path ? "template: " + c.path : "" }, c.resolvedPath || c.path || ""),
      el("td", { class: "num" }, c.status || "no answer"),
      el("td", { class: "num" }, fmtMs(c.durationMs)),
      el("td", { class: "num" }, c.attempt > 1 ? "retry " + (c.attempt - 1) : (c.attempt ?? "")),
      el("td", { class: "err" }, c.error || "")));

    box.append(...[
      el("div", { class: "detail-head" },
        el("h2", {}, (r.op || "?") + " " + (r.resourceType || ""), " ",
          el("span", { class: "badge " + outcomeKind(r.outcome) }, r.outcome || "?"), " ",
          el("span", { class: "status" }, "SCIM " + (r.status ?? "?"))),
        el("div", { class: "actions" },
          copyBtn,
          r.scimId ? el("a", { class: "button", href: filterHash({ scimId: r.scimId }) }, "This user's records") : null,
          el("button", { type: "button", onclick: () => select(state.selected) }, "Close"))),
      r.error ? el("p", { class: "error-text" }, r.error) : null,
      r.cut ? el("p", { class: "cut" }, "Shortened for the fleet-wide stream: " + r.cut) : null,
      facts,
      el("div", { class: "sides" },
        el("section", {}, el("h3", {}, "SCIM changes (" + changes.length + ")"),
          changes.length ? table(["SCIM attribute", "portal field", "old", "new", "shown as"], changeRows) : el("p", { class: "empty" }, "No attribute changed.")),
        members.length ? el("section", {}, el("h3", {}, "Member changes (" + members.length + (r.membersOmitted ? ", " + r.membersOmitted + " more not listed" : "") + ")"),
          table(["op", "member SCIM id", "portal idUser"], memberRows)) : null,
        el("section", {}, el("h3", {}, "Portal calls (" + calls.length + (r.callsOmitted ? ", " + r.callsOmitted + " more not listed" : "") + ")"),
          calls.length ? table(["method", "route", "status", "ms", "attempt", "error"], callRows) : el("p", { class: "empty" }, "No portal call."))),
      extra.length ? el("section", { class: "more" }, el("h3", {}, "More fields"),
        el("dl", { class: "facts" }, ...extra.flatMap((k) => [el("dt", {}, k), el("dd", {}, typeof r[k] === "string" ? r[k] : JSON.stringify(r[k]))]))) : null,
    ].filter(Boolean));
  }

  // --- events ----------------------------------------------------------------------------------------------------
  function applyHash() {
    setFilters(hashFilters());
    state.selected = null;
    refresh();
  }

  function init() {
    $("signin").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const t = $("token").value.trim();
      if (!t) return;
      sessionStorage.setItem(TOKEN_KEY, t);
      $("token").value = "";
      message("");
      showSignedIn();
      refresh();
    });
    $("signout").addEventListener("click", () => {
      sessionStorage.removeItem(TOKEN_KEY);
      clearTimeout(state.timer);
      forget();
      showSignedIn();
      setLive("signed out", "");
      message("");
    });
    $("filters").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const f = filters();
      if (location.hash !== filterHash(f)) location.hash = filterHash(f); // hashchange reloads
      else refresh();
    });
    $("filters").addEventListener("reset", () => {
      setTimeout(() => {
        if (location.hash.length > 1) location.hash = ""; // hashchange reloads
        else refresh();
      }, 0);
    });
    window.addEventListener("hashchange", applyHash);
    document.addEventListener("visibilitychange", () => { if (!document.hidden && token()) refresh(); });

    setFilters(hashFilters());
    showSignedIn();
    readiness();
    if (token()) refresh();
    else { setLive("signed out", ""); chip("scope", "records: sign in", ""); }
  }

  init();
})();
