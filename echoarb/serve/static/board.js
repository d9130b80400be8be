// EchoArb live board: one WebSocket to /ws/spreads, rows keyed by opportunity key, updated in
// place; per-pair SVG charts of net edge; reconnect with capped exponential backoff + jitter.
"use strict";
(function () {
  const rows = new Map();        // key -> {tr, event}
  const history = new Map();     // key -> [[event_ts, net_edge], ...]
  const MAX_POINTS = 120;
  const COLORS = ["#1e6fd9", "#b9461b", "#1e8449", "#8e44ad", "#d35400", "#16a085"];
  let socket = null, attempt = 0, reconnectTimer = null, events = 0, connections = 0;
  const $ = (id) => document.getElementById(id);

  function trim(v) {
    if (v === null || v === undefined) return "–";
    return v.includes(".") ? v.replace(/0+$/, "").replace(/\.$/, "") : v;
  }
  function money(v) { return v === null ? "–" : "$" + Number(v).toFixed(2); }
  function pct(v) { return v === null ? "–" : (Number(v) * 100).toFixed(2) + "%"; }
  function days(v) { return v == null ? "–" : Number(v).toFixed(1) + " d"; }

  function query() {
    const p = new URLSearchParams();
    const pair = $("f-pair").value.trim();
    if (pair) p.set("pair", pair);
    if ($("f-exec").checked) p.set("executable", "true");
    const edge = $("f-edge").value.trim();
    if (edge) p.set("min_edge", edge);
    return p.toString();
  }

  function setConn(state, text) {
    const el = $("conn");
    el.className = "conn " + state;
    el.dataset.state = state;
    $("conn-text").textContent = text;
  }

  function legCell(leg) {
    if (!leg) return "<td>–</td>";
    const outcome = leg.outcome ? " " + leg.outcome : "";
    return `<td data-venue="${leg.venue}" data-side="${leg.side}" data-price="${leg.best_price ?? ""}">` +
      `<span class="venue">${leg.venue}</span> <span class="side-${leg.side}">${leg.side}${outcome}</span>` +
      ` @ ${trim(leg.best_price)}</td>`;
  }

  function cell(field, raw, text) {
    return `<td class="num" data-field="${field}" data-value="${raw ?? ""}">${text}</td>`;
  }

  function render(tr, e) {
    tr.className = e.executable ? "exec" : "";
    tr.dataset.executable = String(e.executable);
    tr.dataset.eventId = e.id;
    const legs = e.legs.length <= 2 ? [e.legs[0], e.legs[1]] : [e.legs[0], {venue: "basket",
      side: "yes", best_price: null, outcome: `+${e.legs.length - 1} legs`}];
    tr.innerHTML =
      `<td data-field="pair_id">${e.pair_id}</td>` + legCell(legs[0]) + legCell(legs[1]) +
      cell("size", e.size, trim(e.size)) + cell("cost", e.cost, money(e.cost)) +
      cell("fees", e.fees, money(e.fees)) +
      cell("net_profit", e.net_profit, money(e.net_profit)) +
      cell("net_edge", e.net_edge, pct(e.net_edge)) +
      cell("days_to_resolution", e.days_to_resolution, days(e.days_to_resolution)) +
      cell("annualised_return", e.annualised_return, e.annualised_return == null ? "–" : pct(e.annualised_return)) +
      cell("quote_age_ms", e.quote_age_ms, (e.quote_age_ms / 1000).toFixed(1) + " s") +
      `<td class="exec-cell" data-field="executable">${e.executable ? "yes" : "no"}</td>` +
      `<td data-field="updated">${new Date(e.computed_at).toLocaleTimeString()}</td>`;
    tr.classList.toggle("neg", Number(e.net_profit) <= 0 && !e.executable);
  }

  // "net_edge": executable first, then best net edge. "annualised_return": as the API's
  // ?sort=annualised_return, best annualised return first, rows without a resolution time last.
  function compare(a, b) {
    if ($("f-sort").value === "annualised_return") {
      const ra = a.annualised_return, rb = b.annualised_return;
      if ((ra == null) !== (rb == null)) return ra == null ? 1 : -1;
      return (ra == null ? 0 : Number(rb) - Number(ra)) || a.key.localeCompare(b.key);
    }
    return (b.executable - a.executable) || (Number(b.net_edge) - Number(a.net_edge)) ||
      a.key.localeCompare(b.key);
  }

  function sortRows() {
    const body = $("rows");
    const sorted = [...rows.values()].sort((a, b) => compare(a.event, b.event));
    sorted.forEach((r, i) => { if (body.children[i] !== r.tr) body.insertBefore(r.tr, body.children[i] || null); });
    $("empty").style.display = rows.size ? "none" : "";
  }

  function upsert(e, flash) {
    let r = rows.get(e.key);
    if (!r) {
      const tr = document.createElement("tr");
      tr.dataset.key = e.key;
      r = {tr, event: e};
      rows.set(e.key, r);
    } else if (e.event_ts < r.event.event_ts) {
      return;  // an older duplicate (e.g. a replayed event after a reconnect)
    }
    r.event = e;
    render(r.tr, e);
    if (flash) { r.tr.classList.remove("flash"); void r.tr.offsetWidth; r.tr.classList.add("flash"); }
    addPoint(e.key, e.event_ts, e.net_edge);
  }

  function addPoint(key, ts, edge) {
    let pts = history.get(key);
    if (!pts) { pts = []; history.set(key, pts); }
    if (pts.length && pts[pts.length - 1][0] === ts && pts[pts.length - 1][1] === edge) return;
    pts.push([ts, edge]);
    pts.sort((a, b) => a[0] - b[0]);
    if (pts.length > MAX_POINTS) pts.splice(0, pts.length - MAX_POINTS);
  }

  function drawCharts() {
    const byPair = new Map();
    for (const [key, pts] of history) {
      if (!rows.has(key)) continue;
      const pair = key.split("|")[0];
      if (!byPair.has(pair)) byPair.set(pair, []);
      byPair.get(pair).push([key, pts]);
    }
    const box = $("charts");
    const W = 260, H = 90, P = 4;
    const html = [];
    for (const [pair, series] of [...byPair].sort()) {
      const all = series.flatMap(([, pts]) => pts);
      const t0 = Math.min(...all.map((p) => p[0])), t1 = Math.max(...all.map((p) => p[0]));
      const vals = all.map((p) => Number(p[1])).concat([0]);
      const lo = Math.min(...vals), hi = Math.max(...vals);
      const x = (t) => P + (t1 > t0 ? (t - t0) / (t1 - t0) : 1) * (W - 2 * P);
      const y = (v) => H - P - (hi > lo ? (v - lo) / (hi - lo) : 0.5) * (H - 2 * P);
      const lines = series.map(([key, pts], i) => {
        const d = pts.map((p) => `${x(p[0]).toFixed(1)},${y(Number(p[1])).toFixed(1)}`).join(" ");
        const last = pts[pts.length - 1];
        const color = COLORS[i % COLORS.length];
        return `<polyline fill="none" stroke="${color}" stroke-width="1.5" ` +
          `points="${d}" data-key="${key}"><title>${key}</title></polyline>` +
          `<circle r="3" fill="${color}" cx="${x(last[0]).toFixed(1)}" cy="${y(Number(last[1])).toFixed(1)}">` +
          `<title>${key}: ${pct(last[1])}</title></circle>`;
      }).join("");
      const legend = series.map(([key], i) =>
        `<span style="color:${COLORS[i % COLORS.length]}">■ ${key.split("|")[2]}</span>`).join(" ");
      html.push(`<div class="chart" data-pair="${pair}"><h3>${pair}</h3>` +
        `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">` +
        `<line class="zero" x1="0" x2="${W}" y1="${y(0)}" y2="${y(0)}"></line>${lines}</svg>` +
        `<div class="legend">${legend} · max ${pct(String(hi))}</div></div>`);
    }
    box.innerHTML = html.join("");
  }

  let chartPending = false;
  function scheduleCharts() {
    if (chartPending) return;
    chartPending = true;
    setTimeout(() => { chartPending = false; drawCharts(); }, 250);
  }

  async function loadHistory(pairs) {
    for (const pair of pairs) {
      try {
        const res = await fetch(withToken(`/api/pairs/${encodeURIComponent(pair)}`));
        if (!res.ok) continue;
        const body = await res.json();
        for (const [key, pts] of Object.entries(body.history || {})) pts.forEach((p) => addPoint(key, p[0], p[1]));
      } catch (err) { /* the chart fills from the feed instead */ }
    }
    scheduleCharts();
  }

  function updateStats() {
    const exec = [...rows.values()].filter((r) => r.event.executable).length;
    $("stats").textContent = `${rows.size} opportunities · ${exec} executable · ${events} events` +
      (connections > 1 ? ` · reconnected ${connections - 1}x` : "");
  }

  function onMessage(msg) {
    const m = JSON.parse(msg.data);
    if (m.type === "snapshot") {
      rows.clear();
      $("rows").innerHTML = "";
      m.data.forEach((e) => upsert(e, false));
      loadHistory([...new Set(m.data.map((e) => e.pair_id))]);
    } else if (m.type === "spread") {
      events++;
      upsert(m.data, true);
    }
    sortRows();
    updateStats();
    scheduleCharts();
  }

  // With WEB_AUTH_TOKEN set, open the board as /?access_token=...: the page passes it on.
  function withToken(url) {
    const token = new URLSearchParams(location.search).get("access_token");
    if (!token) return url;
    return url + (url.includes("?") ? "&" : "?") + "access_token=" + encodeURIComponent(token);
  }

  function connect() {
    clearTimeout(reconnectTimer);
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const q = query();
    setConn("connecting", attempt ? `reconnecting (attempt ${attempt})` : "connecting");
    const ws = new WebSocket(withToken(`${proto}//${location.host}/ws/spreads${q ? "?" + q : ""}`));
    socket = ws;
    ws.onopen = () => { attempt = 0; connections++; setConn("open", "live"); updateStats(); };
    ws.onmessage = onMessage;
    ws.onclose = (ev) => {
      if (socket !== ws) return;  // replaced on purpose (filters changed)
      attempt++;
      const delay = Math.min(10000, 500 * 2 ** (attempt - 1)) * (0.8 + 0.4 * Math.random());
      const why = ev.code === 1013 ? "too slow, " : "";
      setConn("closed", `disconnected (${why}retry in ${(delay / 1000).toFixed(1)} s)`);
      reconnectTimer = setTimeout(connect, delay);
    };
  }

  // The sort is the page's own (the feed sends every event): ?sort=annualised_return opens sorted.
  const initialSort = new URLSearchParams(location.search).get("sort");
  if ([...$("f-sort").options].some((o) => o.value === initialSort)) $("f-sort").value = initialSort;
  $("f-sort").addEventListener("change", sortRows);
  $("filters").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const old = socket;
    socket = null;
    if (old) old.close(1000, "filters changed");
    attempt = 0;
    connect();
  });
  window.echoarbBoard = {rows, history, get connections() { return connections; }};
  connect();
})();
