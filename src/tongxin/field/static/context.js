// The device's context and the ledger rules it can apply offline.
//
// Interface (stable; the sampler, courier and lab screens all use it):
//
//   getToken() / setToken(token) / clearToken()   the device bearer token, kept in IndexedDB.
//   tokenFromFragment() -> token | null   read `#token=…` from the URL once and clear it.
//   loadContext() -> context | null       the cached context (works offline).
//   refreshContext() -> {ok, status, context}   GET /api/v1/field/context with the token;
//                                  the result is cached with the device seq it reflects.
//                                  status 401 means the token is refused; 0 means offline.
//   viewKnowing(barcode) -> view   deviceView(), refreshed once from the server first when
//                                  online and the barcode is in no batch the device knows
//                                  (a batch issued after the last refresh).
//   getStation() / setStation(code)       the station (table) this device samples at.
//   deviceView() -> view           the context plus this device's own events the context
//                                  does not yet show: view.tube(barcode), view.box(code),
//                                  view.resident(code), view.sampledBefore(code or ID
//                                  number), view.context.
//   classify(text) -> {kind, value}       what a scan is: "tube", "resident", "id_number",
//                                  "bad_tube" (check digit wrong) or "unknown".
//   checkSwab(view, person, barcode), checkClose(view, barcode, reason),
//   checkBoxTube(view, barcode, listed), checkSeal(view, box, tubes, count, seal)
//                                  -> null when the device knows of no reason to refuse,
//                                  else {code, message} (same codes as the ledger).
//   maskIdNumber(text)             how an ID number typed at the table is shown.
//
// The cached context is taken only when the queue holds no pending event, and remembers the
// device seq at that moment (`baseSeq`): the context shows every event up to it, and the
// device adds its own later events (pending or sent, not rejected) on top.

import { kvDelete, kvGet, kvSet } from "./db.js";
import { counts, lastSeq, localEvents } from "./queue.js";
import { t } from "./i18n.js";

const CONTEXT_URL = "/api/v1/field/context";

export async function getToken() {
  return kvGet("token", null);
}

export async function setToken(token) {
  await kvSet("token", token.trim());
}

export async function clearToken() {
  await kvDelete("token");
}

export function tokenFromFragment() {
  const match = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
  if (!match) return null;
  // The token must not stay in the address bar, the history or a screenshot.
  history.replaceState(null, "", window.location.pathname + window.location.search);
  return decodeURIComponent(match[1]);
}

export async function loadContext() {
  const cached = await kvGet("context", null);
  return cached ? cached.context : null;
}

export async function refreshContext() {
  const token = await getToken();
  if (!token) return { ok: false, status: 401, context: null };
  // Only with an empty queue can the device tell which of its events the answer includes.
  const before = await counts();
  const seq = await lastSeq();
  let response;
  try {
    response = await fetch(CONTEXT_URL, {
      headers: { Authorization: `Bearer ${token}` },
      credentials: "omit",
      cache: "no-store",
    });
  } catch (err) {
    return { ok: false, status: 0, context: await loadContext() };
  }
  if (!response.ok) return { ok: false, status: response.status, context: await loadContext() };
  const context = await response.json();
  const after = await counts();
  const cached = await kvGet("context", null);
  const sameRound = cached && cached.context.round.code === context.round.code;
  if (!sameRound || (before.pending === 0 && after.pending === 0 && seq === (await lastSeq()))) {
    await kvSet("context", { context, baseSeq: seq, loadedAt: Date.now() });
    return { ok: true, status: 200, context };
  }
  // Events are waiting: the tubes and boxes in the answer may already count some of them,
  // so the old snapshot of those stays (with its seq); set-up data (batches issued since,
  // residents, stations) is taken now.
  const merged = { ...context, tubes: cached.context.tubes, boxes: cached.context.boxes };
  await kvSet("context", { ...cached, context: merged });
  return { ok: true, status: 200, context: merged };
}

export async function getStation() {
  return kvGet("station", null);
}

export async function setStation(code) {
  await kvSet("station", code);
}

// --- the device's view: context + its own later events -----------------------------------

function tubeNumber(barcode) {
  return Number.parseInt(barcode.slice(1, 11), 10);
}

function luhnDigit(digits) {
  let total = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    total += d;
  }
  return String((10 - (total % 10)) % 10);
}

export function isTubeBarcode(code) {
  return /^T\d{11}$/.test(code) && luhnDigit(code.slice(1, 11)) === code[11];
}

export async function deviceView() {
  const cached = await kvGet("context", null);
  if (!cached) return null;
  const { context, baseSeq } = cached;
  const tubes = new Map(
    context.tubes.map((tb) => [tb.barcode, { ...tb, names: [], local: 0 }])
  );
  const boxes = new Map(context.boxes.map((b) => [b.code, { ...b }]));
  const residents = new Map(context.residents.map((r) => [r.code, r]));
  // People this device or the server already swabbed in this round, by resident code or
  // ID number: a second swab is allowed (the ledger flags it), but the sampler is told.
  const sampled = new Set(context.residents.filter((r) => r.sampled).map((r) => r.code));
  const issued = (barcode) => {
    if (!isTubeBarcode(barcode)) return null;
    const n = tubeNumber(barcode);
    const batch = context.tube_batches.find(
      (b) => tubeNumber(b.first) <= n && n <= tubeNumber(b.last)
    );
    return batch ? batch.capacity : null;
  };
  const tube = (barcode) => {
    if (tubes.has(barcode)) return tubes.get(barcode);
    const capacity = issued(barcode);
    if (capacity === null) return null;
    const fresh = { barcode, capacity, state: "issued", fill: 0, reason: null, names: [], local: 0 };
    tubes.set(barcode, fresh);
    return fresh;
  };
  for (const rec of await localEvents(baseSeq)) {
    const ev = rec.event;
    if (ev.type === "swab_taken") {
      const tb = tube(ev.tube);
      if (!tb) continue;
      tb.fill += 1;
      tb.local += 1;
      tb.names.push(personLabel(ev.person, residents));
      sampled.add(ev.person.resident_code || ev.person.id_number);
      if (tb.state === "issued") tb.state = "open";
      if (tb.capacity > 0 && tb.fill >= tb.capacity) tb.state = "closed";
    } else if (ev.type === "tube_closed") {
      const tb = tube(ev.tube);
      if (tb && (tb.state === "open" || tb.state === "issued")) {
        tb.state = "closed";
        tb.reason = ev.reason;
      }
    } else if (ev.type === "box_sealed") {
      boxes.set(ev.box, { code: ev.box, state: "sealed", count: ev.count });
      for (const barcode of ev.tubes) {
        const tb = tube(barcode);
        if (tb) tb.state = "boxed";
      }
    }
  }
  return {
    context,
    tube,
    box: (code) => boxes.get(code) || null,
    resident: (code) => residents.get(code) || null,
    sampledBefore: (key) => sampled.has(key),
    tubes: () => [...tubes.values()],
    boxes: () => [...boxes.values()],
  };
}

export async function viewKnowing(barcode) {
  const view = await deviceView();
  if (view.tube(barcode) || !navigator.onLine) return view;
  const answer = await refreshContext();
  return answer.ok ? deviceView() : view;
}

export function maskIdNumber(text) {
  const v = (text || "").trim();
  if (v.length >= 16) return v.slice(0, 4) + "*".repeat(v.length - 8) + v.slice(-4);
  if (v.length <= 4) return v.length > 1 ? "*".repeat(v.length - 1) + v.slice(-1) : "*";
  const keep = Math.max(1, Math.floor(v.length / 4));
  return v.slice(0, keep) + "*".repeat(v.length - 2 * keep) + v.slice(-keep);
}

function maskName(name) {
  if (!name) return "";
  return name[0] + "*".repeat(Math.max(name.length - 1, 1));
}

export function personLabel(person, residents) {
  if (person.resident_code) {
    const r = residents.get(person.resident_code);
    return r ? r.name : person.resident_code;
  }
  return person.name ? maskName(person.name) : maskIdNumber(person.id_number);
}

export function classify(text) {
  const value = (text || "").trim().toUpperCase();
  if (/^T\d{11}$/.test(value)) {
    return { kind: isTubeBarcode(value) ? "tube" : "bad_tube", value };
  }
  if (/^\d{17}[\dX]$/.test(value)) return { kind: "id_number", value };
  if (/^[0-9A-Z*~$=]{9}$/.test(value)) return { kind: "resident", value };
  return { kind: "unknown", value };
}

// --- offline checks, mirroring the ledger (screening.checks / decide) ---------------------

function refusal(code, params) {
  return { code, message: t(`refuse.${code}`, params) };
}

function tubeRefusal(view, barcode) {
  const tb = view.tube(barcode);
  if (!tb) return [null, refusal("tube_unknown", { tube: barcode })];
  if (tb.state === "boxed" || (tb.state !== "issued" && tb.state !== "open" && tb.state !== "closed")) {
    return [tb, refusal("tube_closed", { tube: barcode })];
  }
  return [tb, null];
}

export function checkSwab(view, person, barcode) {
  const [tb, refused] = tubeRefusal(view, barcode);
  if (refused) return refused;
  const full = tb.capacity > 0 && tb.fill >= tb.capacity;
  if (tb.state === "closed" && full && tb.reason == null) {
    return refusal("tube_full", { tube: barcode, capacity: tb.capacity });
  }
  if (tb.state === "closed") return refusal("tube_closed", { tube: barcode });
  if (person.capacity != null && person.capacity !== tb.capacity) {
    return refusal("tube_capacity_mismatch", {
      tube: barcode,
      capacity: tb.capacity,
      expected: person.capacity,
    });
  }
  return null;
}

export function checkClose(view, barcode, reason) {
  const [tb, refused] = tubeRefusal(view, barcode);
  if (refused) return refused;
  if (tb.state === "closed") return refusal("tube_closed", { tube: barcode });
  if (tb.fill === 0) return refusal("tube_empty", { tube: barcode });
  if (!reason && tb.capacity > 0 && tb.fill < tb.capacity) {
    return refusal("tube_short_no_reason", { tube: barcode });
  }
  return null;
}

export function checkBoxTube(view, barcode, listed) {
  const tb = view.tube(barcode);
  if (!tb) return refusal("tube_unknown", { tube: barcode });
  if (listed.includes(barcode)) return refusal("box_tube_listed", { tube: barcode });
  if (tb.state !== "closed") return refusal("box_tube_not_closed", { tube: barcode });
  return null;
}

export function checkSeal(view, box, tubes, count, seal) {
  if (!box) return refusal("box_code_missing", {});
  if (view.box(box)) return refusal("box_sealed", { box });
  if (!tubes.length) return refusal("box_empty", { box });
  if (!seal) return refusal("seal_missing", { box });
  if (count !== tubes.length) {
    return refusal("box_count_mismatch", { box, count, listed: tubes.length });
  }
  for (const barcode of tubes) {
    const refused = checkBoxTube(view, barcode, []);
    if (refused) return refused;
  }
  return null;
}
