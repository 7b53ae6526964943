// The field app's shell: service worker, sign-in with the device token, the status bar,
// tabs, and the hand-off to the screens (sampler.js; courier and lab screens plug in the
// same way).
//
// Interface for screens (stable):
//
//   registerView(name, {show(shell)})   a tab's section is <section data-view="name">;
//                                  show() runs each time it opens (redraw from IndexedDB).
//   go(name)                       open a tab.
//   say(text, kind)                the message line; kind "ok" (beep), "bad" (error sound
//                                  and vibration) or "info" (silent).
//   shell.context                  the cached device context (null before sign-in).
//   shell.refresh()                redraw the open tab (after an enqueue, a sync, a refresh).
//   shell.startView(context)       the tab a device opens on after sign-in: "sampler" for a
//                                  site token, "device" otherwise; a screen for other tokens
//                                  (courier, lab) may replace it when it mounts.
//
// A screen is a module exporting mount<Name>({registerView, go, say, shell}); list it in
// SCREENS at the bottom of this file, and its tab button and section in the page template.
//
// Start-up: register /field/sw.js, take `#token=…` from the URL if present, then use the
// saved token and cached context (so it opens offline), and refresh the context when online.

import {
  configureQueue,
  markTokenRefused,
  onChange,
  rejected,
  startSync,
  syncNow,
} from "./queue.js";
import {
  clearToken,
  getToken,
  loadContext,
  refreshContext,
  setToken,
  tokenFromFragment,
} from "./context.js";
import { failure, success } from "./feedback.js";
import { t } from "./i18n.js";

const views = new Map();
let current = null;
let lastRefresh = 0;
const CONTEXT_EVERY_MS = 60000;

export const shell = {
  context: null,
  status: null,
  startView: (context) => (context.site ? "sampler" : "device"),
  refresh: () => (current ? show(current) : undefined),
};

export function registerView(name, handlers) {
  views.set(name, handlers);
}

const $ = (sel) => document.querySelector(sel);

export function say(text, kind = "info") {
  const box = $("#message");
  box.textContent = text;
  box.hidden = !text;
  box.dataset.kind = kind;
  if (kind === "ok") success();
  if (kind === "bad") failure();
}

function show(name) {
  const handlers = views.get(name);
  if (handlers && handlers.show) handlers.show(shell);
}

export function go(name) {
  current = name;
  for (const section of document.querySelectorAll("section.fx-view")) {
    section.hidden = section.dataset.view !== name;
  }
  for (const button of document.querySelectorAll("#tabs [data-go]")) {
    button.setAttribute("aria-current", button.dataset.go === name ? "page" : "false");
  }
  $("#tabs").hidden = name === "signin";
  show(name);
}

let rejectedSeen = null;

async function tellNewRejections(count) {
  // A rejection comes back after the sampler has moved on: say so at once, loudly, with the
  // server's reason, so the person can be resampled while still at the table.
  const before = rejectedSeen;
  rejectedSeen = count;
  if (before === null || count <= before) return;
  const list = await rejected();
  const last = list[list.length - 1];
  const english = document.documentElement.lang.startsWith("en");
  const reason = last ? (english ? last.message_en : last.message) || last.code : "";
  say(t("rejected.new", { n: count - before, reason }), "bad");
}

function drawStatus(status) {
  shell.status = status;
  tellNewRejections(status.rejected);
  const net = $("#net");
  net.textContent = status.online ? t("status.online") : t("status.offline");
  net.dataset.state = status.online ? "online" : "offline";
  if (status.syncing) net.textContent += ` · ${t("status.syncing")}`;
  else if (status.retryAt && status.pending) {
    const s = Math.max(1, Math.round((status.retryAt - Date.now()) / 1000));
    net.textContent += ` · ${t("status.retry", { s })}`;
  }
  document.querySelector("[data-testid=pending]").textContent = status.pending;
  document.querySelector("[data-testid=sent]").textContent = status.sent;
  document.querySelector("[data-testid=rejected-count]").textContent = status.rejected;
  const banner = $("#token-banner");
  banner.hidden = !status.tokenRefused;
  banner.textContent = status.tokenRefused ? t("status.token") : "";
  if (
    status.online &&
    !status.syncing &&
    status.pending === 0 &&
    !status.tokenRefused &&
    shell.context &&
    Date.now() - lastRefresh > CONTEXT_EVERY_MS
  ) {
    // The queue is empty: the server's view now includes everything this device did.
    updateContext();
  }
}

async function updateContext() {
  lastRefresh = Date.now();
  const answer = await refreshContext();
  if (answer.status === 401) {
    // Keep recording: what is taken now waits in the queue for a valid token.
    markTokenRefused();
    return answer;
  }
  if (answer.context) {
    shell.context = answer.context;
    shell.refresh();
  }
  return answer;
}

// The kind of device a token is for: its tabs and the screen it opens on.
export function deviceKind(context) {
  if (context.site) return "site";
  if (context.courier) return "courier";
  return context.lab ? "lab" : null;
}

async function enter(context) {
  shell.context = context;
  configureQueue({ token: await getToken(), device: context.device, round: context.round.code });
  startSync();
  syncNow(); // a new token after a refused one: send what waited at once
  const kind = deviceKind(context);
  document.querySelector("#tabs").dataset.kind = kind || "";
  for (const button of document.querySelectorAll("#tabs [data-kind]")) {
    button.hidden = button.dataset.kind !== kind;
  }
  go(shell.startView(context));
}

async function signIn(event) {
  event.preventDefault();
  const error = $("#signin-error");
  error.textContent = "";
  const token = $("#token-input").value.trim();
  if (!token) return;
  await setToken(token);
  const answer = await updateContext();
  if (answer.ok) {
    $("#token-input").value = "";
    success();
    await enter(answer.context);
    return;
  }
  if (answer.status === 401) error.textContent = t("signin.refused");
  else if (answer.status === 0) error.textContent = t("signin.offline");
  else error.textContent = t("signin.failed", { status: answer.status });
  failure();
}

async function signOut() {
  // The queue stays: events already taken still go out once a valid token is entered.
  await clearToken();
  shell.context = null;
  configureQueue({ token: null, device: null, round: null });
  go("signin");
}

function registerWorker() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register("/field/sw.js", { scope: "/field/" }).catch((err) => {
    console.error("service worker", err);
  });
}

async function boot() {
  registerWorker();
  registerView("signin", { show: () => $("#token-input").focus() });
  registerView("device", { show: drawDevice });
  $("#signin-form").addEventListener("submit", signIn);
  $("#sign-out").addEventListener("click", signOut);
  $("#refresh").addEventListener("click", async () => {
    const answer = await updateContext();
    say(answer.ok ? t("device.refreshed") : t("signin.offline"), answer.ok ? "ok" : "bad");
    syncNow();
  });
  for (const button of document.querySelectorAll("[data-go]")) {
    button.addEventListener("click", () => go(button.dataset.go));
  }
  onChange((status) => {
    drawStatus(status);
    if (["rejected", "sampler", "box", "pickup", "deliver", "lab"].includes(current)) {
      shell.refresh();
    }
  });
  const fromLink = tokenFromFragment();
  if (fromLink) await setToken(fromLink);
  const token = await getToken();
  const cached = await loadContext();
  if (token && cached && !fromLink) {
    await enter(cached);
    if (navigator.onLine) updateContext();
    return;
  }
  if (token) {
    const answer = await updateContext();
    if (answer.ok) {
      await enter(answer.context);
      return;
    }
    $("#signin-error").textContent =
      answer.status === 401 ? t("signin.refused") : t("signin.offline");
  }
  go("signin");
}

function drawDevice() {
  const facts = document.querySelector("[data-testid=device-facts]");
  facts.replaceChildren();
  const ctx = shell.context;
  if (!ctx) return;
  const rows = [
    ["device.name", ctx.device],
    ["device.round", `${ctx.round.code} ${ctx.round.name}`],
    ["device.deadline", new Date(ctx.round.deadline).toLocaleString()],
    ["device.site", ctx.site ? `${ctx.site.code} ${ctx.site.name}` : ctx.lab || ""],
    ["device.residents", String(ctx.residents.length)],
    ["device.batches", String(ctx.tube_batches.length)],
    ["device.updated", new Date(ctx.generated_at).toLocaleString()],
  ];
  for (const [label, value] of rows) {
    const dt = document.createElement("dt");
    dt.textContent = t(label);
    const dd = document.createElement("dd");
    dd.textContent = value;
    facts.append(dt, dd);
  }
}

// Screens register themselves before the shell starts: [module, its mount function].
const SCREENS = [
  ["./sampler.js", "mountSampler"],
  ["./courier.js", "mountCourier"],
  ["./lab.js", "mountLab"],
];

Promise.all(
  SCREENS.map(([path, mount]) =>
    import(path).then((module) => module[mount]({ registerView, go, say, shell }))
  )
).then(boot);
