// OpenFn's screens in Airflow's UI. Hand-written, no dependencies: the pages are rendered by the
// server; this adds Airflow's colour mode and time zone, collapsible JSON, log search, and the
// actions, which call the JSON API (same origin, Airflow's login cookie).
"use strict";

(function followColourMode() {
  // Airflow's UI (Chakra UI + next-themes) puts class "dark" or "light" on its <html> and keeps
  // the choice in localStorage "theme" (light | dark | system). We are in its iframe, same origin.
  const root = document.documentElement;
  function parentRoot() {
    try {
      return window.parent !== window ? window.parent.document.documentElement : null;
    } catch (e) {
      return null;
    }
  }
  function stored() {
    let mode = null;
    try { mode = localStorage.getItem("theme"); } catch (e) { /* storage blocked */ }
    if (mode === "light" || mode === "dark") return mode;
    return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }
  function apply() {
    const top = parentRoot();
    let dark;
    if (top && (top.classList.contains("dark") || top.classList.contains("light"))) {
      dark = top.classList.contains("dark");
    } else {
      dark = stored() === "dark";
    }
    root.classList.toggle("dark", dark);
    root.classList.toggle("light", !dark);
  }
  apply();
  const top = parentRoot();
  if (top) new MutationObserver(apply).observe(top, { attributes: true, attributeFilter: ["class"] });
  window.addEventListener("storage", (event) => { if (event.key === "theme") apply(); });
  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", apply);
})();

const OpenFn = (function () {
  const config = () => document.body.dataset;

  // ---- Times: the zone picked in Airflow's UI (localStorage "timezone"), else Airflow's
  // configured one (the page's data-zone, [core] default_timezone); full date-time on hover.
  function validZone(zone) {
    try {
      if (zone) { new Intl.DateTimeFormat("en", { timeZone: zone }); return zone; }
    } catch (e) { /* not a zone this browser knows */ }
    return null;
  }
  function serverZone() { return validZone(config().zone) || "UTC"; }
  function timezone() {
    let zone = null;
    try {
      const raw = localStorage.getItem("timezone");
      zone = raw && (raw.startsWith('"') ? JSON.parse(raw) : raw);
    } catch (e) { zone = null; }
    return validZone(zone) || serverZone();
  }
  function parts(date, zone, withMs) {
    const options = {
      timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
      minute: "2-digit", second: "2-digit", hourCycle: "h23",
    };
    if (withMs) options.fractionalSecondDigits = 3;
    const p = {};
    for (const part of new Intl.DateTimeFormat("en-CA", options).formatToParts(date)) p[part.type] = part.value;
    const ms = withMs ? "." + p.fractionalSecond : "";
    return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}${ms}`;
  }
  function relative(date) {
    const seconds = Math.round((date.getTime() - Date.now()) / 1000);
    const units = [["year", 31536000], ["month", 2592000], ["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]];
    const format = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
    for (const [unit, size] of units) {
      if (Math.abs(seconds) >= size || unit === "second") return format.format(Math.round(seconds / size), unit);
    }
    return "";
  }
  function renderTimes(scope) {
    const zone = timezone();
    for (const el of (scope || document).querySelectorAll("time[datetime]")) {
      const date = new Date(el.getAttribute("datetime"));
      if (isNaN(date)) continue;
      el.textContent = parts(date, zone, false);
      el.title = `${parts(date, zone, true)} ${zone} · ${relative(date)}`;
    }
    for (const el of document.querySelectorAll("[data-timezone]")) el.textContent = zone;
    for (const input of document.querySelectorAll("input[data-instant]")) {
      const date = new Date(input.dataset.instant);
      if (input.dataset.instant && !isNaN(date)) input.value = parts(date, zone, false).slice(0, 16).replace(" ", "T");
    }
  }
  // The offset of a zone at an instant, in minutes east of UTC.
  function offsetAt(date, zone) {
    const p = {};
    const format = new Intl.DateTimeFormat("en-US", {
      timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
      minute: "2-digit", second: "2-digit", hourCycle: "h23",
    });
    for (const part of format.formatToParts(date)) p[part.type] = part.value;
    const wall = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
    return Math.round((wall - Math.floor(date.getTime() / 1000) * 1000) / 60000);
  }
  // A datetime-local value (a wall time in ``zone``) as ISO with the zone's offset then.
  function withOffset(value, zone) {
    const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d))?/.exec(value);
    if (!m) return value;
    const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
    let offset = offsetAt(new Date(wall), zone);
    offset = offsetAt(new Date(wall - offset * 60000), zone); // across a DST change
    const pad = (n) => String(n).padStart(2, "0");
    const sign = offset < 0 ? "-" : "+";
    const abs = Math.abs(offset);
    return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6] || "00"}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
  }

  // ---- Links to Airflow's own pages: navigate Airflow's UI (the parent), not this iframe.
  function openInAirflow(event) {
    const link = event.target.closest("a[data-airflow]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    try {
      const top = window.parent;
      if (top === window) return;
      const url = new URL(link.href, location.href);
      const state = top.history.state || {};
      top.history.pushState(
        { usr: null, key: Math.random().toString(36).slice(2, 10), idx: (state.idx || 0) + 1 },
        "", url.pathname + url.search + url.hash,
      );
      top.dispatchEvent(new top.PopStateEvent("popstate", { state: top.history.state }));
      event.preventDefault();
    } catch (e) { /* fall back to following the link here */ }
  }

  // ---- Filter forms: leave empty fields out of the URL; the custom date range when chosen.
  function setUpFilters(form) {
    const windowSelect = form.querySelector("[data-window]");
    const custom = form.querySelector("[data-custom-range]");
    function toggle() {
      if (!windowSelect || !custom) return;
      const on = windowSelect.value === "";
      custom.hidden = !on;
      for (const input of custom.querySelectorAll("input")) input.disabled = !on;
    }
    if (windowSelect) {
      windowSelect.addEventListener("change", () => {
        toggle();
        if (windowSelect.value !== "") form.requestSubmit(); // a custom range waits for Apply
      });
    }
    toggle();
    for (const el of form.querySelectorAll("select[data-autosubmit], .chip input")) {
      el.addEventListener("change", () => form.requestSubmit());
    }
    form.addEventListener("submit", () => {
      // A custom range goes in the URL with its offset: the link means the same instant anywhere.
      for (const input of form.querySelectorAll("input[type=datetime-local]")) {
        if (input.disabled || !input.value) continue;
        const exact = document.createElement("input");
        exact.type = "hidden";
        exact.name = input.name;
        exact.value = withOffset(input.value, timezone());
        exact.dataset.exact = "1";
        input.after(exact);
        input.disabled = true;
        input.dataset.off = "1";
      }
      for (const el of form.elements) {
        if (el.name && !el.disabled && el.type !== "checkbox" && el.value.trim() === "") {
          el.disabled = true;
          el.dataset.off = "1";
        }
      }
    });
    // Back to this page from the browser's cache: the form as it was before it was sent.
    window.addEventListener("pageshow", (event) => {
      if (!event.persisted) return;
      form.querySelectorAll("[data-exact]").forEach((el) => el.remove());
      form.querySelectorAll("[data-off]").forEach((el) => { el.disabled = false; delete el.dataset.off; });
      toggle();
    });
  }

  // ---- JSON viewer: collapsible, children built when opened (large documents stay fast).
  function jsonNode(value, key, depth) {
    const isObject = value !== null && typeof value === "object";
    const keyHtml = key === null ? "" : `<span class="k">${escapeHtml(JSON.stringify(key))}</span>: `;
    if (!isObject) {
      const row = document.createElement("div");
      row.className = "row";
      row.innerHTML = keyHtml + scalar(value);
      return row;
    }
    const entries = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
    const open = Array.isArray(value) ? "[" : "{";
    const close = Array.isArray(value) ? "]" : "}";
    const row = document.createElement("div");
    row.className = "row";
    if (entries.length === 0) {
      row.innerHTML = `${keyHtml}<span class="meta">${open}${close}</span>`;
      return row;
    }
    const details = document.createElement("details");
    const noun = Array.isArray(value) ? "items" : "keys";
    details.innerHTML = `<summary>${keyHtml}<span class="meta">${open} ${entries.length} ${entries.length === 1 ? noun.slice(0, -1) : noun} ${close}</span></summary>`;
    let built = false;
    function build() {
      if (built) return;
      built = true;
      const body = document.createDocumentFragment();
      for (const [k, v] of entries) body.appendChild(jsonNode(v, Array.isArray(value) ? null : k, depth + 1));
      details.appendChild(body);
    }
    details.addEventListener("toggle", () => { if (details.open) build(); });
    if (depth < 2 && entries.length <= 200) { details.open = true; build(); }
    row.appendChild(details);
    return row;
  }
  function scalar(value) {
    if (typeof value === "string") return `<span class="s">${escapeHtml(JSON.stringify(value))}</span>`;
    if (typeof value === "number") return `<span class="n">${value}</span>`;
    return `<span class="l">${String(value)}</span>`;
  }
  function setUpJson(container) {
    const source = document.getElementById(container.dataset.json);
    const value = JSON.parse(source.textContent);
    const tree = container.querySelector(".json");
    tree.replaceChildren(jsonNode(value, null, 0));
    const tools = container.querySelector(".json-tools");
    if (!tools) return;
    tools.addEventListener("click", (event) => {
      const action = event.target.closest("button")?.dataset.jsonAction;
      if (action === "expand") {
        // Opening builds the children, which adds more <details>: repeat until none is closed.
        for (let round = 0; round < 50; round++) {
          const closed = tree.querySelectorAll("details:not([open])");
          if (!closed.length) break;
          closed.forEach((d) => { d.open = true; d.dispatchEvent(new Event("toggle")); });
        }
      } else if (action === "collapse") {
        tree.querySelectorAll("details").forEach((d, i) => { d.open = i === 0; });
      } else if (action === "copy") {
        copy(JSON.stringify(value, null, 2), event.target.closest("button"));
      }
    });
  }

  // ---- Log viewer: line numbers, search with highlight and "matching lines only".
  function setUpLog(container) {
    const pre = container.querySelector(".log");
    const lines = pre.textContent.split("\n");
    if (lines.length && lines[lines.length - 1] === "") lines.pop();
    const input = container.querySelector("input[type=search]");
    const only = container.querySelector("[data-log-only]");
    const wrap = container.querySelector("[data-log-wrap]");
    const count = container.querySelector("[data-log-count]");
    const LIMIT = 20000; // lines drawn at once; the rest is in the download
    function draw() {
      const needle = input.value.trim().toLowerCase();
      const html = [];
      let matches = 0;
      let drawn = 0;
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i];
        const hit = needle && line.toLowerCase().includes(needle);
        if (hit) matches++;
        if (needle && only.checked && !hit) continue;
        if (drawn++ >= LIMIT) continue;
        html.push(`<span class="line" data-n="${i + 1}">${hit ? highlight(line, needle) : escapeHtml(line)}</span>`);
      }
      pre.innerHTML = html.join("") || `<span class="line muted" data-n="">${needle ? "No line matches." : "The log is empty."}</span>`;
      count.textContent = needle ? `${matches} matching line${matches === 1 ? "" : "s"}` : `${lines.length} lines`;
      if (drawn > LIMIT) count.textContent += ` (first ${LIMIT} shown)`;
      const first = pre.querySelector("mark");
      if (first && !only.checked) first.scrollIntoView({ block: "center" });
    }
    let timer = null;
    input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(draw, 150); });
    only.addEventListener("change", draw);
    wrap.addEventListener("change", () => pre.classList.toggle("wrap", wrap.checked));
    draw();
  }
  function highlight(line, needle) {
    const lower = line.toLowerCase();
    let out = "";
    let from = 0;
    for (let at = lower.indexOf(needle); at !== -1; at = lower.indexOf(needle, from)) {
      out += escapeHtml(line.slice(from, at)) + "<mark>" + escapeHtml(line.slice(at, at + needle.length)) + "</mark>";
      from = at + needle.length;
    }
    return out + escapeHtml(line.slice(from));
  }

  // ---- Calling the JSON API (and Airflow's own REST API, same origin, same login).
  function api(method, path, body) { return call(config().api, method, path, body); }
  function airflowApi(method, path, body) { return call(`${config().airflow}/api/v2`, method, path, body); }
  async function call(base, method, path, body) {
    const response = await fetch(base + path, {
      method,
      credentials: "same-origin",
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 204) return null;
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      let detail = data && (data.detail || data.error);
      if (Array.isArray(detail)) detail = detail.map((d) => d.msg).join("; ");
      if (data && data.error === "internal_error") detail = `internal error (id ${data.id})`;
      throw new Error(`${response.status}: ${detail || response.statusText}`);
    }
    return data;
  }
  function show(el, kind, text) {
    el.hidden = false;
    el.className = `note ${kind}`;
    el.textContent = text;
  }
  function busy(button, on) {
    button.disabled = on;
    button.setAttribute("aria-busy", on ? "true" : "false");
  }
  function reloadSoon(ms) { setTimeout(() => location.reload(), ms || 800); }

  // A confirmation dialog; resolves true when confirmed.
  function confirmDialog(title, html, confirmLabel, danger) {
    return new Promise((resolve) => {
      const dialog = document.getElementById("confirm");
      dialog.querySelector("h2").textContent = title;
      dialog.querySelector("[data-body]").innerHTML = html;
      const ok = dialog.querySelector("[data-ok]");
      ok.textContent = confirmLabel;
      ok.className = danger ? "btn danger solid" : "btn primary";
      dialog.returnValue = "";
      dialog.showModal();
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    });
  }

  // ---- Inbox actions.
  // ``filters``: what to reprocess; ``ids``: the id range of the filters, when there is one.
  async function bulkReprocess(button, filters, ids) {
    const status = document.getElementById("action-status");
    const which = (n) => `message${n === 1 ? "" : "s"}${ids ? ` with ids ${ids}` : ""} match${n === 1 ? "es" : ""} ${ids ? "the filters" : "the current filters"}`;
    busy(button, true);
    try {
      const dry = await api("POST", "/messages/reprocess", { ...filters, dry_run: true });
      const body = `<p><strong data-count>${dry.count.toLocaleString()}</strong> ${which(dry.count)}.</p>` +
        `<p>${dry.messages_with_matches.toLocaleString()} of them match a trigger a job listens to: ` +
        `${dry.dispatches.toLocaleString()} deliver${dry.dispatches === 1 ? "y" : "ies"} will be queued, and a run will start for each.</p>` +
        `<p class="muted small">Jobs that are off or have autoprocess off do not run.</p>`;
      if (dry.count === 0) { show(status, "warning", `No ${which(1)}.`); return false; }
      if (!(await confirmDialog("Reprocess messages", body, `Reprocess ${dry.count.toLocaleString()}`, false))) return false;
      const done = await api("POST", "/messages/reprocess", { ...filters, dry_run: false });
      show(status, "success", `Reprocessing ${done.count.toLocaleString()} message${done.count === 1 ? "" : "s"}${ids ? ` (ids ${ids})` : ""}: ${done.dispatches.toLocaleString()} deliveries queued.`);
      return true;
    } catch (error) {
      show(status, "error", `Could not reprocess: ${error.message}`);
      return false;
    } finally { busy(button, false); }
  }
  // The id-range forms of the bulk actions: the list's filters (not its dates) and the range.
  function setUpIdRange(form) {
    const problem = form.querySelector("[data-problem]");
    const menu = form.closest("details");
    menu.addEventListener("toggle", () => {
      if (!menu.open) return;
      // Below its button, right-aligned; left-aligned when that would leave the window.
      form.style.left = form.style.right = "";
      if (form.getBoundingClientRect().left < 8) { form.style.left = "0"; form.style.right = "auto"; }
      form.elements.from_id.focus();
    });
    // Closed by Escape or a click elsewhere (not in the confirmation it opened).
    document.addEventListener("click", (event) => {
      if (menu.open && !menu.contains(event.target) && !event.target.closest("dialog")) menu.open = false;
    });
    menu.addEventListener("keydown", (event) => { if (event.key === "Escape") menu.open = false; });
    form.addEventListener("input", () => { problem.hidden = true; });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const from = Number(form.elements.from_id.value);
      const to = Number(form.elements.to_id.value);
      if (from > to) {
        show(problem, "error", "The first id must not be above the last one.");
        return;
      }
      problem.hidden = true;
      const filters = { ...JSON.parse(form.dataset.filters), from_id: from, to_id: to };
      const ids = `${from.toLocaleString()} to ${to.toLocaleString()}`;
      const button = form.querySelector("button[type=submit]");
      const done = form.dataset.idRange === "retry"
        ? await retry(button, filters, false, ids)
        : await bulkReprocess(button, filters, ids);
      if (done) form.closest("details").open = false;
    });
  }
  async function processMessage(button) {
    const status = document.getElementById("action-status");
    busy(button, true);
    try {
      const done = await api("POST", `/messages/${button.dataset.id}/process`);
      if (done.matched.length) {
        show(status, "success", `Queued for ${done.matched.join(", ")}: the runs appear below when they start.`);
        reloadSoon(2500);
      } else {
        show(status, "warning", "No trigger a running job listens to matches this message now: nothing was queued.");
      }
    } catch (error) {
      show(status, "error", `Could not process: ${error.message}`);
    } finally { busy(button, false); }
  }
  function setUpEditor() {
    const editor = document.getElementById("editor");
    if (!editor) return;
    const area = editor.querySelector("textarea");
    const problem = editor.querySelector("[data-problem]");
    const original = area.value;
    document.addEventListener("click", async (event) => {
      const button = event.target.closest("[data-edit]");
      if (!button) return;
      const action = button.dataset.edit;
      if (action === "open") { editor.hidden = false; area.focus(); }
      if (action === "cancel") { editor.hidden = true; area.value = original; problem.hidden = true; }
      if (action === "save") {
        let body;
        try { body = JSON.parse(area.value); } catch (error) {
          show(problem, "error", `Not valid JSON: ${error.message}`);
          return;
        }
        busy(button, true);
        try {
          const done = await api("PUT", `/messages/${editor.dataset.id}`, { body });
          show(problem, "success", done.changed ? "Saved. The previous body is kept under Earlier versions." : "Unchanged.");
          reloadSoon();
        } catch (error) {
          show(problem, "error", `Could not save: ${error.message}`);
        } finally { busy(button, false); }
      }
    });
  }

  // ---- Activity actions.
  async function retry(button, filters, single, ids) {
    const status = document.getElementById("action-status");
    busy(button, true);
    try {
      const dry = await api("POST", "/runs/retry", { ...filters, dry_run: true });
      if (dry.count === 0) {
        show(status, "warning", `No finished run${ids ? ` with ids ${ids}` : ""} matches: running and pending runs are not retried, nor runs retried already.`);
        return false;
      }
      const jobs = Object.entries(dry.jobs).map(([job, n]) => `<li>${escapeHtml(job)}: ${n.toLocaleString()}</li>`).join("");
      const body = `<p><strong data-count>${dry.count.toLocaleString()}</strong> run${dry.count === 1 ? "" : "s"}${ids ? ` with ids ${ids}` : ""} will be retried, each as a new run on its initial state:</p><ul>${jobs}</ul>`;
      const label = single ? "Retry" : `Retry ${dry.count.toLocaleString()}`;
      if (!(await confirmDialog(single ? "Retry this run" : "Retry runs", body, label, false))) return false;
      const done = await api("POST", "/runs/retry", { ...filters, dry_run: false });
      let text = `Retried ${done.retried.length.toLocaleString()} run${done.retried.length === 1 ? "" : "s"}${ids ? ` (ids ${ids})` : ""}.`;
      if (done.skipped.length) text += ` Skipped ${done.skipped.length}: ${done.skipped.slice(0, 3).map((s) => `#${s.run_id} ${s.reason}`).join("; ")}`;
      show(status, done.skipped.length ? "warning" : "success", text);
      return true;
    } catch (error) {
      show(status, "error", `Could not retry: ${error.message}`);
      return false;
    } finally { busy(button, false); }
  }

  // ---- One job on one message (the Inbox's play buttons), and a message run's retry.
  function startedNote(status, text, dagId, dagRunId) {
    const href = `${config().airflow}/dags/${encodeURIComponent(dagId)}/runs/${encodeURIComponent(dagRunId)}`;
    status.hidden = false;
    status.className = "note success";
    status.innerHTML = `${escapeHtml(text)} <a data-airflow data-dag-run href="${escapeHtml(href)}">${escapeHtml(dagRunId)}</a> (queued in Airflow).`;
  }
  async function runJob(button) {
    const status = document.getElementById("action-status");
    const id = button.dataset.id, job = button.dataset.job;
    const ok = await confirmDialog("Run a job on this message",
      `<p>Run <strong>${escapeHtml(job)}</strong> on message <strong>#${escapeHtml(id)}</strong> now, on its current body? No other job runs.</p>`,
      `Run ${job}`, false);
    if (!ok) return;
    busy(button, true);
    try {
      const run = await api("POST", `/messages/${encodeURIComponent(id)}/jobs/${encodeURIComponent(job)}/run`);
      startedNote(status, `Started ${job} on message #${id}:`, run.dag_id, run.dag_run_id);
    } catch (error) {
      show(status, "error", `Could not run ${job} on message #${id}: ${error.message}`);
    } finally { busy(button, false); }
  }
  async function retryMessageRun(button) {
    const status = document.getElementById("action-status");
    const id = button.dataset.id, runId = button.dataset.run;
    const edited = button.hasAttribute("data-edited");
    const body = edited
      ? `<p>The message was edited since run <strong>#${escapeHtml(runId)}</strong> of ${escapeHtml(button.dataset.job)}. Retry it:</p>` +
        `<label class="choice"><input type="radio" name="retry-message" value="as_run" checked> as it ran: on its own initial state (the old body)</label>` +
        `<label class="choice"><input type="radio" name="retry-message" value="current" data-current> with the message as it is now</label>`
      : `<p>Retry run <strong>#${escapeHtml(runId)}</strong> of ${escapeHtml(button.dataset.job)} as a new run on its initial state?</p>`;
    if (!(await confirmDialog("Retry this run", body, "Retry", false))) return;
    const chosen = document.querySelector("#confirm input[name=retry-message]:checked");
    const message = chosen ? chosen.value : "as_run";
    busy(button, true);
    try {
      const done = await api("POST", `/messages/${encodeURIComponent(id)}/runs/${encodeURIComponent(runId)}/retry`, { message });
      const how = message === "current" ? "with the message as it is now" : "on its initial state";
      startedNote(status, `Retrying run #${runId} ${how}:`, done.dag_id, done.dag_run_id);
    } catch (error) {
      show(status, "error", `Could not retry run #${runId}: ${error.message}`);
    } finally { busy(button, false); }
  }

  // ---- Jobs actions: Airflow's REST API pauses / unpauses the DAG and triggers runs.
  async function toggleJob(input) {
    const status = document.getElementById("action-status");
    const on = input.checked;
    const row = input.closest("tr");
    const state = row.querySelector("[data-state]");
    input.disabled = true;
    try {
      const dag = await airflowApi("PATCH", `/dags/${encodeURIComponent(input.dataset.dagId)}`, { is_paused: !on });
      input.checked = !dag.is_paused;
      state.textContent = dag.is_paused ? "off" : "on";
      showSwitched(input, !dag.is_paused);
      show(status, "success", `${row.dataset.job} is ${dag.is_paused ? "off: its DAG is paused" : "on: its DAG is unpaused"}.`);
    } catch (error) {
      input.checked = !on;
      show(status, "error", `Could not switch ${row.dataset.job} ${on ? "on" : "off"}: ${error.message}`);
    } finally { input.disabled = false; }
  }
  // Says who switched the job last (here, now) and whether the spec's enabled now disagrees.
  function showSwitched(input, on) {
    const cell = input.closest("td");
    for (const old of cell.querySelectorAll("[data-switched], [data-spec-disagrees]")) old.remove();
    const line = document.createElement("div");
    line.className = "small muted";
    line.dataset.switched = "user";
    line.textContent = `switched ${on ? "on" : "off"} here just now`;
    cell.appendChild(line);
    if ((input.dataset.specEnabled === "true") !== on) {
      const note = document.createElement("div");
      note.className = "small";
      note.dataset.specDisagrees = "";
      note.innerHTML = `<span class="tag warn">spec says enabled: ${escapeHtml(input.dataset.specEnabled)}</span>`;
      cell.appendChild(note);
    }
  }
  async function runNow(button) {
    const status = document.getElementById("action-status");
    const row = button.closest("tr");
    const off = row.querySelector("[data-action=toggle-job]:not(:checked)") !== null;
    const ok = await confirmDialog("Run now",
      `<p>Start a run of <strong>${escapeHtml(button.dataset.job)}</strong> now, outside its schedule?</p>` +
      (off ? `<p class="note warning">The job is off: the run waits until it is switched on.</p>` : ""),
      "Run now", false);
    if (!ok) return;
    busy(button, true);
    try {
      const dagId = button.dataset.dagId;
      const run = await airflowApi("POST", `/dags/${encodeURIComponent(dagId)}/dagRuns`, { logical_date: null });
      const href = `${config().airflow}/dags/${encodeURIComponent(dagId)}/runs/${encodeURIComponent(run.dag_run_id)}`;
      status.hidden = false;
      status.className = "note success";
      status.innerHTML = `Started ${escapeHtml(button.dataset.job)}: <a data-airflow data-dag-run href="${escapeHtml(href)}">${escapeHtml(run.dag_run_id)}</a> (${escapeHtml(run.state)}).`;
    } catch (error) {
      show(status, "error", `Could not run ${button.dataset.job}: ${error.message}`);
    } finally { busy(button, false); }
  }

  // ---- Settings actions.
  async function addMethod(kind, form) {
    const status = document.getElementById("action-status");
    const project = document.body.dataset.project;
    const request = { kind };
    if (kind === "basic") {
      request.username = form.username.value.trim();
      if (form.password.value) request.password = form.password.value;
    }
    try {
      const created = await api("POST", `/projects/${encodeURIComponent(project)}/auth-methods`, request);
      // Shown once, after the reload that lists the new method; never stored past that.
      sessionStorage.setItem("openfn-new-secret", JSON.stringify({ kind, id: created.method.id, username: created.method.username, secret: created.secret }));
      location.reload();
    } catch (error) {
      show(status, "error", `Could not add: ${error.message}`);
    }
  }
  function showNewSecret() {
    const box = document.getElementById("new-secret");
    const raw = sessionStorage.getItem("openfn-new-secret");
    if (!box || !raw) return;
    sessionStorage.removeItem("openfn-new-secret");
    const created = JSON.parse(raw);
    const what = created.kind === "basic" ? `Password of ${created.username}` : created.kind === "api_key" ? "API key" : "Signing secret";
    box.hidden = false;
    box.querySelector("[data-what]").textContent = `${what} (method #${created.id})`;
    box.querySelector("code").textContent = created.secret;
  }
  async function revoke(button) {
    const status = document.getElementById("action-status");
    const ok = await confirmDialog("Revoke auth method",
      `<p>Requests carrying method <strong>#${escapeHtml(button.dataset.id)}</strong> (${escapeHtml(button.dataset.label)}) will be refused from now on.</p>` +
      (button.dataset.last === "1" ? `<p class="note warning">It is the last active method: the inbox will be closed and refuse every request until you add a method or open it to anyone.</p>` : ""),
      "Revoke", true);
    if (!ok) return;
    try {
      await api("DELETE", `/projects/${encodeURIComponent(document.body.dataset.project)}/auth-methods/${button.dataset.id}`);
      location.reload();
    } catch (error) {
      show(status, "error", `Could not revoke: ${error.message}`);
    }
  }

  async function openInbox() {
    const status = document.getElementById("action-status");
    const project = document.body.dataset.project;
    const ok = await confirmDialog("Open the inbox to anyone",
      `<p>The inbox of <strong>${escapeHtml(project)}</strong> will take every request without credentials: anyone with its URL can send messages, and they start its jobs.</p>` +
      `<p class="muted small">To protect it instead, add an API key or a basic-auth user.</p>`,
      "Open the inbox", true);
    if (!ok) return;
    try {
      await api("POST", `/projects/${encodeURIComponent(project)}/inbox/open`);
      location.reload();
    } catch (error) {
      show(status, "error", `Could not open the inbox: ${error.message}`);
    }
  }

  function copy(text, button) {
    const done = () => { if (button) { const label = button.textContent; button.textContent = "Copied"; setTimeout(() => { button.textContent = label; }, 1200); } };
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done, () => fallbackCopy(text, done));
    else fallbackCopy(text, done);
  }
  function fallbackCopy(text, done) {
    const area = document.createElement("textarea");
    area.value = text;
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); done(); } catch (e) { /* nothing to do */ }
    area.remove();
  }
  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  // "Go to message #": straight to that message's page (a leading "#" is allowed).
  function setUpGotoMessage(form) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const id = form.elements.id.value.trim().replace(/^#/, "");
      if (id) location.href = `${config().ui}/messages/${encodeURIComponent(id)}`;
    });
  }

  function start() {
    renderTimes();
    document.addEventListener("click", openInAirflow);
    document.querySelectorAll("form[data-filters]").forEach(setUpFilters);
    document.querySelectorAll("form[data-goto-message]").forEach(setUpGotoMessage);
    document.querySelectorAll("form[data-id-range]").forEach(setUpIdRange);
    document.querySelectorAll("[data-json]").forEach(setUpJson);
    document.querySelectorAll("[data-log]").forEach(setUpLog);
    setUpEditor();
    showNewSecret();
    document.addEventListener("click", (event) => {
      const button = event.target.closest("[data-action]");
      if (!button || button.disabled) return;
      const action = button.dataset.action;
      if (action === "bulk-reprocess") bulkReprocess(button, JSON.parse(button.dataset.filters), null);
      else if (action === "process") processMessage(button);
      else if (action === "bulk-retry") retry(button, JSON.parse(button.dataset.filters), false);
      else if (action === "retry") retry(button, { from_id: Number(button.dataset.id), to_id: Number(button.dataset.id), after: "all" }, true);
      else if (action === "run-now") runNow(button);
      else if (action === "run-job") runJob(button);
      else if (action === "retry-message-run") retryMessageRun(button);
      else if (action === "add-api-key") addMethod("api_key", null);
      else if (action === "revoke") revoke(button);
      else if (action === "open-inbox") openInbox();
      else if (action === "reveal") {
        const target = document.getElementById(button.dataset.target);
        const hidden = target.dataset.masked === "1";
        target.textContent = hidden ? target.dataset.value : target.dataset.mask;
        target.dataset.masked = hidden ? "0" : "1";
        button.textContent = hidden ? "Hide" : "Reveal";
      } else if (action === "copy") {
        copy(document.getElementById(button.dataset.target).dataset.value || document.getElementById(button.dataset.target).textContent, button);
      }
    });
    for (const input of document.querySelectorAll("input[data-action=toggle-job]")) {
      input.addEventListener("change", () => toggleJob(input));
    }
    const basic = document.getElementById("add-basic");
    if (basic) basic.addEventListener("submit", (event) => { event.preventDefault(); addMethod("basic", basic); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
  return { api, renderTimes };
})();
