// The field app's event queue: every event waits in IndexedDB until the server answers it.
//
// Interface (stable; the sampler, courier and lab screens all use it):
//
//   configureQueue({token, device, round})  who sends: the bearer token, the device name
//                                  and round code from the context (call after sign-in).
//   markTokenRefused()             the server refused the token (401 anywhere): stop
//                                  sending; events may still be enqueued and wait.
//   enqueue(fields) -> record      store one ledger event as pending and start a sync.
//                                  `fields` is the event without the common fields, e.g.
//                                  {type: "swab_taken", station, tube, person}; the queue
//                                  adds id (a UUIDv7: see eventId), device, seq (a per-device
//                                  counter persisted in IndexedDB, in the same transaction
//                                  as the event), at (device time with its UTC offset) and
//                                  round. The record is {id, seq, status, event, code,
//                                  message, message_en, flag, enqueuedAt, answeredAt}.
//   onChange(cb) -> unsubscribe    cb(status) after every change: {online, pending, sent,
//                                  rejected, syncing, tokenRefused, lastError, retryAt}.
//   counts() -> {pending, sent, rejected}
//   rejected() -> [record]         rejected and neither dismissed nor resolved, oldest first.
//   dismiss(id)                    the sampler has dealt with a rejected event; it is kept
//                                  (status "dismissed") but leaves the list. An event the
//                                  command centre resolved on the server leaves it too
//                                  (status "resolved"; checked after a sync, once a minute,
//                                  through GET /api/v1/capture/events/{id}).
//   syncNow() -> Promise           send pending events now (a running sync is joined).
//   localEvents(afterSeq) -> [record]  events after a device seq that the server has not
//                                  refused (pending or sent), in seq order: what the
//                                  device's own view of tubes and boxes adds to its context.
//   lastSeq() -> number            the highest seq handed out so far.
//   startSync()                    start the triggers: the `online` event, an interval, and
//                                  (always) every enqueue.
//
// Sync: up to BATCH pending events in seq order per POST /api/v1/capture/events. Each
// answer marks its event: accepted and duplicate -> sent, rejected -> rejected (with the
// server's code and messages). Network errors and 5xx retry with exponential backoff (1 s
// doubling to 30 s, with jitter); 401 stops syncing and keeps the queue until a new token
// is entered. Resending is always safe: the server stores each event id once.

import { kvGet, request, transaction } from "./db.js";

const BATCH = 200;
const BACKOFF_FIRST_MS = 1000;
const BACKOFF_CAP_MS = 30000;
const INTERVAL_MS = 15000;
const CAPTURE_URL = "/api/v1/capture/events";
const RESOLVED_EVERY_MS = 60000;
const RESOLVED_BATCH = 50;

const listeners = new Set();
let config = { token: null, device: null, round: null };
let running = null;
let again = false;
let attempt = 0;
let retryTimer = null;
let retryAt = null;
let lastError = null;
let tokenRefused = false;
let started = false;
let resolvedCheckedAt = 0;

export function configureQueue({ token, device, round }) {
  config = { token, device, round };
  tokenRefused = false;
  notify();
}

export function markTokenRefused() {
  tokenRefused = true;
  lastError = "token";
  notify();
}

export function onChange(cb) {
  listeners.add(cb);
  notify();
  return () => listeners.delete(cb);
}

function isoNow() {
  // Device time with its own UTC offset, e.g. 2022-09-23T08:01:02.123+08:00.
  const d = new Date();
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? "+" : "-";
  const abs = Math.abs(off);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` +
    `T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  );
}

// A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits. The server takes
// any unique id, but time-ordered ids land at the end of the ledger's unique index rather
// than on a random page of it, which keeps capture cost flat as the ledger grows
// (docs/decisions/0014).
export function eventId(now = Date.now()) {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let ms = now;
  for (let i = 5; i >= 0; i -= 1) {
    bytes[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  bytes[6] = (bytes[6] & 0x0f) | 0x70; // version 7
  bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export async function enqueue(fields) {
  if (!config.device || !config.round) {
    throw new Error("the queue is not configured: sign in first");
  }
  const record = await transaction(["events", "kv"], "readwrite", async ({ events, kv }) => {
    const row = await request(kv.get("seq"));
    const seq = (row ? row.value : 0) + 1;
    kv.put({ key: "seq", value: seq });
    const event = {
      id: eventId(),
      device: config.device,
      seq,
      at: isoNow(),
      round: config.round,
      ...fields,
    };
    const rec = {
      id: event.id,
      seq,
      status: "pending",
      event,
      code: null,
      message: null,
      message_en: null,
      flag: null,
      enqueuedAt: Date.now(),
      answeredAt: null,
    };
    events.add(rec);
    return rec;
  });
  notify();
  syncSoon();
  return record;
}

export async function lastSeq() {
  return kvGet("seq", 0);
}

async function countStatus(events, status) {
  return request(
    events.index("status_seq").count(IDBKeyRange.bound([status, 0], [status, Infinity]))
  );
}

export async function counts() {
  return transaction(["events"], "readonly", async ({ events }) => ({
    pending: await countStatus(events, "pending"),
    sent: await countStatus(events, "sent"),
    rejected: await countStatus(events, "rejected"),
  }));
}

async function byStatus(status, limit) {
  return transaction(["events"], "readonly", ({ events }) =>
    request(
      events
        .index("status_seq")
        .getAll(IDBKeyRange.bound([status, 0], [status, Infinity]), limit)
    )
  );
}

export async function rejected() {
  return byStatus("rejected");
}

async function leaveRejected(id, status, fields) {
  await transaction(["events"], "readwrite", async ({ events }) => {
    const rec = await request(events.get(id));
    if (rec && rec.status === "rejected") {
      events.put({ ...rec, ...fields, status });
    }
  });
  notify();
}

export async function dismiss(id) {
  await leaveRejected(id, "dismissed", { dismissedAt: Date.now() });
}

async function checkResolved() {
  if (Date.now() - resolvedCheckedAt < RESOLVED_EVERY_MS) return;
  resolvedCheckedAt = Date.now();
  for (const rec of await byStatus("rejected", RESOLVED_BATCH)) {
    let response;
    try {
      response = await fetch(`${CAPTURE_URL}/${encodeURIComponent(rec.id)}`, {
        headers: { Authorization: `Bearer ${config.token}` },
        credentials: "omit",
        cache: "no-store",
      });
    } catch (err) {
      return; // offline again: next time
    }
    if (!response.ok) continue;
    const stored = await response.json();
    if (stored.resolved_at) {
      await leaveRejected(rec.id, "resolved", { resolution: stored.resolution || null });
    }
  }
}

export async function localEvents(afterSeq) {
  const all = await transaction(["events"], "readonly", ({ events }) =>
    request(events.index("seq").getAll(IDBKeyRange.lowerBound(afterSeq, true)))
  );
  return all.filter((r) => r.status === "pending" || r.status === "sent");
}

async function notify() {
  if (!listeners.size) return;
  let c;
  try {
    c = await counts();
  } catch (err) {
    return;
  }
  const status = {
    online: navigator.onLine,
    ...c,
    syncing: running !== null,
    tokenRefused,
    lastError,
    retryAt,
  };
  for (const cb of listeners) {
    try {
      cb(status);
    } catch (err) {
      console.error(err);
    }
  }
}

function syncSoon() {
  // Let the caller finish drawing before the network call starts.
  setTimeout(() => syncNow(), 0);
}

export function syncNow() {
  if (running) {
    again = true;
    return running;
  }
  running = runSync().finally(() => {
    running = null;
    notify();
    if (again) {
      again = false;
      syncSoon();
    }
  });
  notify();
  return running;
}

function scheduleRetry() {
  attempt += 1;
  const base = Math.min(BACKOFF_CAP_MS, BACKOFF_FIRST_MS * 2 ** (attempt - 1));
  // Jitter, so a hundred pads coming back online together do not all call at once.
  const delay = base / 2 + Math.random() * (base / 2);
  clearTimeout(retryTimer);
  retryAt = Date.now() + delay;
  retryTimer = setTimeout(() => {
    retryTimer = null;
    retryAt = null;
    syncNow();
  }, delay);
}

async function runSync() {
  if (retryTimer !== null) return; // waiting out a backoff; the timer will call again
  while (config.token && !tokenRefused) {
    if (!navigator.onLine) return; // the `online` event restarts the sync
    const batch = await byStatus("pending", BATCH);
    if (!batch.length) {
      attempt = 0;
      await checkResolved();
      return;
    }
    let response;
    try {
      response = await fetch(CAPTURE_URL, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Authorization: `Bearer ${config.token}`,
        },
        body: JSON.stringify(batch.map((r) => r.event)),
        credentials: "omit",
        cache: "no-store",
      });
    } catch (err) {
      lastError = "network";
      scheduleRetry();
      return;
    }
    if (response.status === 401) {
      tokenRefused = true;
      lastError = "token";
      return;
    }
    if (!response.ok) {
      // 503: nothing was stored, send the same events again; other codes are retried too,
      // since dropping an event is never the answer.
      lastError = `http ${response.status}`;
      scheduleRetry();
      return;
    }
    let answer;
    try {
      answer = await response.json();
    } catch (err) {
      // A cut-off answer: the events stay pending and go again (duplicates are harmless).
      lastError = "answer";
      scheduleRetry();
      return;
    }
    await markAnswers(batch, answer.results || []);
    lastError = null;
    attempt = 0;
    notify();
  }
}

async function markAnswers(batch, results) {
  await transaction(["events"], "readwrite", async ({ events }) => {
    for (let i = 0; i < batch.length; i += 1) {
      const answer = results[i];
      if (!answer) continue; // no answer for it: it stays pending and goes again
      const rec = await request(events.get(batch[i].id));
      if (!rec || rec.status !== "pending") continue;
      rec.status = answer.status === "rejected" ? "rejected" : "sent";
      rec.code = answer.code || null;
      rec.message = answer.message || null;
      rec.message_en = answer.message_en || null;
      rec.flag = answer.flag || null;
      rec.answeredAt = Date.now();
      events.put(rec);
    }
  });
}

export function startSync() {
  if (started) return;
  started = true;
  window.addEventListener("online", () => {
    // Back online: forget the backoff and send at once.
    clearTimeout(retryTimer);
    retryTimer = null;
    retryAt = null;
    attempt = 0;
    notify();
    syncNow();
  });
  window.addEventListener("offline", () => notify());
  setInterval(() => syncNow(), INTERVAL_MS);
  syncNow();
}

