// The courier's screens (decision 0009): pick sealed boxes up at a site, the site confirming
// with its handover PIN typed on this phone, and show the courier's code for the lab.
//
// A pick-up is one `handover` event {boxes, from: site, to: this device, pin} through the
// same queue as the sampler's events; the server checks the PIN and keeps a wrong one as a
// rejected event (the 被拒 tab). The draft (site and boxes scanned) is kept in IndexedDB, so
// a reload in the middle loses nothing. The boxes carried come from the server when online
// (GET /api/v1/field/courier/boxes, cached) plus this device's pick-ups not yet answered.

import { kvGet, kvSet } from "./db.js";
import { enqueue, localEvents } from "./queue.js";
import { getToken } from "./context.js";
import { onEnter, removableItem, serialQueue } from "./forms.js";
import { extend, extendHints, t } from "./i18n.js";

const $ = (sel) => document.querySelector(sel);
const tid = (id) => document.querySelector(`[data-testid=${id}]`);
const DRAFT = "pickupDraft";
const BADGE = "courierBadge";
const CARRIED = "courierCarried";

extend({
  "courier.added": { zh: "已加入：{box}", en: "Added: {box}" },
  "courier.listed": { zh: "{box} 已在本次取箱清单中", en: "{box} is already listed" },
  "courier.site_missing": { zh: "请先填写或扫描采样点编号", en: "Enter or scan the site code first" },
  "courier.box_missing": { zh: "请先扫描要取的转运箱", en: "Scan the boxes to take first" },
  "courier.pin_missing": { zh: "请采样点人员输入交接密码", en: "The site's worker enters the handover PIN" },
  "courier.taken": {
    zh: "已交接：从 {site} 取 {n} 箱，等待服务器核对密码",
    en: "Handed over: {n} boxes from {site}; the server checks the PIN",
  },
  "courier.pending": { zh: "待发", en: "pending" },
  "courier.sent": { zh: "已交接", en: "handed over" },
  "courier.none": { zh: "目前没有在途的转运箱", en: "No box in transit" },
  "courier.tubes": { zh: "{n} 管", en: "{n} tubes" },
  "type.handover": { zh: "交接", en: "Handover" },
  "type.box_received": { zh: "签收", en: "Receipt" },
});

extendHints({
  handover_pin_wrong: {
    zh: "交接密码错误：请采样点人员重新输入密码，再交接一次（箱子仍在采样点名下）。",
    en: "Wrong PIN: ask the site's worker to enter it again and hand over once more (the boxes are still the site's).",
  },
  handover_pin_unset: {
    zh: "该采样点还没有交接密码：请指挥部运行 tongxin screening site pin 设置。",
    en: "The site has no handover PIN yet: the command centre sets one (tongxin screening site pin).",
  },
  handover_party_unknown: {
    zh: "交接方不是本轮的采样点或转运员：核对编号后重新交接。",
    en: "The other party is not a site or courier of this round: check the code and hand over again.",
  },
  handover_not_holder: {
    zh: "这些箱子不在对方名下（已被交接过或属于其他采样点）：请核对箱号。",
    en: "The boxes are not held by the giving party (handed over already, or another site's): check the box codes.",
  },
  box_unknown: {
    zh: "箱号没有封箱记录：核对箱号；若刚封箱，请等采样点设备上传后再交接。",
    en: "No box sealed under that code: check it; if just sealed, wait for the site's device to send it.",
  },
  box_already_received: { zh: "此箱已被签收。", en: "The box was received already." },
  box_not_handed_over: {
    zh: "此箱还没有从采样点交接出来：请先完成取箱交接。",
    en: "The box was never handed over by its site: do the pick-up first.",
  },
});

let ui = null;
let serial = null; // scans one at a time (forms.serialQueue), made at mount

async function draft() {
  return kvGet(DRAFT, { site: "", boxes: [] });
}

function clean(text) {
  return text.trim().toUpperCase();
}

async function setSite(text) {
  if (!clean(text)) return;
  const d = await draft();
  d.site = clean(text);
  await kvSet(DRAFT, d);
  $("#pickup-scan").focus();
  await drawPickup();
}

async function addBox(text) {
  const box = clean(text);
  const d = await draft();
  if (d.boxes.includes(box)) {
    ui.say(t("courier.listed", { box }), "bad");
    return;
  }
  d.boxes.push(box);
  await kvSet(DRAFT, d);
  ui.say(t("courier.added", { box }), "ok");
  await drawPickup();
}

async function removeBox(box) {
  const d = await draft();
  d.boxes = d.boxes.filter((b) => b !== box);
  await kvSet(DRAFT, d);
  await drawPickup();
}

async function confirmPickup() {
  const d = await draft();
  const site = d.site || clean($("#pickup-site").value);
  const pin = $("#pickup-pin").value.trim();
  if (!site) return ui.say(t("courier.site_missing"), "bad");
  if (!d.boxes.length) return ui.say(t("courier.box_missing"), "bad");
  if (!pin) return ui.say(t("courier.pin_missing"), "bad");
  const device = ui.shell.context.device;
  await enqueue({
    type: "handover",
    boxes: d.boxes,
    from: site,
    to: device,
    // The courier's token is the courier's confirmation; the PIN is the site's.
    confirmations: ["from", "to"],
    pin,
  });
  $("#pickup-pin").value = "";
  await kvSet(DRAFT, { site, boxes: [] });
  ui.say(t("courier.taken", { site, n: d.boxes.length }), "ok");
  await drawPickup();
}

const boxItem = (text, onRemove) => removableItem(text, onRemove, serial);

async function drawPickup() {
  const d = await draft();
  const site = $("#pickup-site");
  if (document.activeElement !== site) site.value = d.site;
  tid("pickup-count").textContent = String(d.boxes.length);
  tid("pickup-boxes").replaceChildren(
    ...d.boxes.map((box) => boxItem(box, () => removeBox(box)))
  );
}

// --- deliver ------------------------------------------------------------------------------

async function fetchJson(url) {
  const token = await getToken();
  const response = await fetch(url, {
    headers: { Authorization: `Bearer ${token}` },
    credentials: "omit",
    cache: "no-store",
  });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response;
}

async function refreshDeliver() {
  if (!navigator.onLine) return;
  try {
    const badge = await (await fetchJson("/api/v1/field/courier/badge.svg")).text();
    await kvSet(BADGE, badge);
    const carried = await (await fetchJson("/api/v1/field/courier/boxes")).json();
    await kvSet(CARRIED, carried.boxes);
  } catch (err) {
    // Offline or a refused token: the cached badge and list stay; the status bar says why.
    console.warn(err);
  }
}

async function drawDeliver() {
  const device = ui.shell.context ? ui.shell.context.device : "";
  tid("courier-code").textContent = device;
  const badge = await kvGet(BADGE, null);
  const img = $("#courier-badge");
  if (badge) {
    img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(badge)}`;
    img.alt = device;
    img.hidden = false;
  }
  const fromServer = await kvGet(CARRIED, []);
  const known = new Set(fromServer.map((b) => b.box));
  const rows = fromServer.map((b) => ({
    text: `${b.box} · ${b.from} · ${t("courier.tubes", { n: b.tubes })}`,
    status: t("courier.sent"),
  }));
  // Pick-ups the server has not confirmed yet (pending, or sent since the last refresh).
  for (const rec of await localEvents(0)) {
    if (rec.event.type !== "handover" || rec.event.to !== device) continue;
    for (const box of rec.event.boxes) {
      if (known.has(box) || rec.status === "sent") continue;
      known.add(box);
      rows.push({ text: `${box} · ${rec.event.from}`, status: t("courier.pending") });
    }
  }
  tid("carried-count").textContent = String(rows.length);
  const list = tid("carried");
  if (!rows.length) {
    const li = document.createElement("li");
    li.className = "fx-empty";
    li.textContent = t("courier.none");
    list.replaceChildren(li);
    return;
  }
  list.replaceChildren(
    ...rows.map((row) => {
      const li = document.createElement("li");
      li.textContent = row.text;
      const tag = document.createElement("span");
      tag.className = "fx-tag";
      tag.textContent = row.status;
      li.append(" ", tag);
      return li;
    })
  );
}

export function mountCourier(shellApi) {
  ui = shellApi;
  serial = serialQueue((message, kind) => ui.say(message, kind));
  const opensOn = ui.shell.startView;
  ui.shell.startView = (context) => (context.courier ? "pickup" : opensOn(context));
  ui.registerView("pickup", { show: () => serial(drawPickup) });
  ui.registerView("deliver", {
    show: () =>
      serial(async () => {
        await drawDeliver();
        await refreshDeliver();
        await drawDeliver();
      }),
  });
  onEnter($("#pickup-site-form"), $("#pickup-site"), setSite, serial);
  $("#pickup-site").addEventListener("change", (e) => serial(() => setSite(e.target.value)));
  onEnter($("#pickup-scan-form"), $("#pickup-scan"), addBox, serial);
  $("#pickup-confirm-form").addEventListener("submit", (e) => {
    // At once, not inside serial(): queued work runs after the browser has submitted the form.
    e.preventDefault();
    serial(confirmPickup);
  });
}
