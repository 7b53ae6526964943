// The lab's receipt screens (decision 0009): take boxes over from a courier, check every
// tube (good / damaged / leaked / missing; good unless tapped), sign each box off, see the
// tubes expected but missing, and upload a results file.
//
// The handover courier -> lab and each `box_received` go through the same queue as every
// other event. Which tubes a box holds comes from the server (GET /api/v1/field/lab/boxes,
// cached in IndexedDB), so a box shows its tubes once its handover has been sent; the
// conditions tapped so far are kept in IndexedDB per box until the box is signed off.

import { kvGet, kvSet } from "./db.js";
import { enqueue, localEvents, syncNow } from "./queue.js";
import { getToken } from "./context.js";
import { onEnter, removableItem, serialQueue } from "./forms.js";
import { extend, t } from "./i18n.js";

const $ = (sel) => document.querySelector(sel);
const tid = (id) => document.querySelector(`[data-testid=${id}]`);
const DRAFT = "labDraft";
const BOXES = "labBoxes";
const MARKS = "labMarks";
const CONDITIONS = ["good", "damaged", "leaked", "missing"];

extend({
  "lab.courier_set": { zh: "转运员：{courier}，请逐箱扫描", en: "Courier {courier}: scan each box" },
  "lab.courier_missing": { zh: "请先扫描转运员码", en: "Scan the courier's code first" },
  "lab.box_missing": { zh: "请先扫描转运箱", en: "Scan the boxes first" },
  "lab.added": { zh: "已加入：{box}", en: "Added: {box}" },
  "lab.listed": { zh: "{box} 已在本次交接清单中", en: "{box} is already listed" },
  "lab.handed": { zh: "已从 {courier} 接收 {n} 箱，请逐管验收", en: "Took {n} boxes from {courier}; check each tube" },
  "lab.received": { zh: "已签收 {box}：{good} 管完好，{bad} 管异常", en: "Received {box}: {good} good, {bad} not" },
  "lab.waiting": { zh: "交接已记录，上传后显示管码", en: "Handover recorded; tubes show once it is sent" },
  "lab.none": { zh: "没有待验收的转运箱", en: "No box waiting for receipt" },
  "lab.sign": { zh: "签收此箱", en: "Sign this box off" },
  "lab.from": { zh: "来自 {courier}", en: "from {courier}" },
  "lab.tube_count": { zh: "箱上 {expected} 管，列出 {listed} 管", en: "{expected} tubes on the box, {listed} listed" },
  "lab.all_here": { zh: "{box}：{n} 管全部到齐", en: "{box}: all {n} tubes here" },
  "lab.missing": { zh: "{box}：应到未到 {tubes}", en: "{box}: expected but missing {tubes}" },
  "lab.not_received": { zh: "{box}：已交接，尚未签收", en: "{box}: handed over, not signed off yet" },
  "lab.nothing": { zh: "暂无", en: "Nothing yet" },
  "lab.pending_receipt": { zh: "{box}：签收待发", en: "{box}: receipt waiting to be sent" },
  "cond.good": { zh: "完好", en: "Good" },
  "cond.damaged": { zh: "破损", en: "Damaged" },
  "cond.leaked": { zh: "渗漏", en: "Leaked" },
  "cond.missing": { zh: "缺失", en: "Missing" },
  "results.offline": { zh: "上传结果需要联网", en: "Uploading results needs a connection" },
  "results.choose": { zh: "请选择结果文件", en: "Choose a results file" },
  "results.done": {
    zh: "{file}：{accepted} 条已采用，{duplicate} 条重复，{rejected} 条被拒，{invalid} 行有误",
    en: "{file}: {accepted} applied, {duplicate} duplicates, {rejected} rejected, {invalid} bad rows",
  },
  "results.refused": { zh: "文件无法导入：{message}", en: "The file cannot be imported: {message}" },
  "results.row": { zh: "第 {row} 行：{message}", en: "Row {row}: {message}" },
});

let ui = null;
let serial = null; // scans one at a time (forms.serialQueue), made at mount

const english = () => document.documentElement.lang.startsWith("en");

async function draft() {
  return kvGet(DRAFT, { courier: "", boxes: [] });
}

async function setCourier(text) {
  const courier = text.trim();
  if (!courier) return;
  const d = await draft();
  d.courier = courier;
  await kvSet(DRAFT, d);
  ui.say(t("lab.courier_set", { courier }), "ok");
  $("#lab-scan").focus();
  await drawLab();
}

async function addBox(text) {
  const box = text.trim().toUpperCase();
  const d = await draft();
  if (!d.courier) return ui.say(t("lab.courier_missing"), "bad");
  if (d.boxes.includes(box)) return ui.say(t("lab.listed", { box }), "bad");
  d.boxes.push(box);
  await kvSet(DRAFT, d);
  ui.say(t("lab.added", { box }), "ok");
  await drawLab();
}

async function removeBox(box) {
  const d = await draft();
  d.boxes = d.boxes.filter((b) => b !== box);
  await kvSet(DRAFT, d);
  await drawLab();
}

async function takeOver() {
  const d = await draft();
  if (!d.courier) return ui.say(t("lab.courier_missing"), "bad");
  if (!d.boxes.length) return ui.say(t("lab.box_missing"), "bad");
  await enqueue({
    type: "handover",
    boxes: d.boxes,
    from: d.courier,
    to: ui.shell.context.lab,
    // This device (the lab's token) confirms as receiver; the courier's code was scanned.
    confirmations: ["from", "to"],
  });
  await kvSet(DRAFT, { courier: "", boxes: [] });
  ui.say(t("lab.handed", { courier: d.courier, n: d.boxes.length }), "ok");
  await syncNow();
  await refreshBoxes();
  await drawLab();
}

async function refreshBoxes() {
  if (!navigator.onLine) return;
  try {
    const response = await fetch("/api/v1/field/lab/boxes", {
      headers: { Authorization: `Bearer ${await getToken()}` },
      credentials: "omit",
      cache: "no-store",
    });
    if (response.ok) await kvSet(BOXES, (await response.json()).boxes);
  } catch (err) {
    console.warn(err); // offline: the cached list stays
  }
}

async function marks() {
  return kvGet(MARKS, {});
}

async function mark(box, barcode, condition) {
  const all = await marks();
  all[box] = { ...(all[box] || {}), [barcode]: condition };
  await kvSet(MARKS, all);
  await drawLab();
}

async function signOff(box) {
  const all = await marks();
  const chosen = all[box.box] || {};
  // Unlisted tubes are good (docs/api.md): send only the ones that are not.
  const conditions = Object.fromEntries(
    Object.entries(chosen).filter(([, condition]) => condition !== "good")
  );
  await enqueue({ type: "box_received", box: box.box, lab: ui.shell.context.lab, conditions });
  delete all[box.box];
  await kvSet(MARKS, all);
  const bad = Object.keys(conditions).length;
  ui.say(t("lab.received", { box: box.box, good: box.tubes.length - bad, bad }), "ok");
  await syncNow();
  await refreshBoxes();
  await drawLab();
}

const listItem = (text, onRemove) => removableItem(text, onRemove, serial);

function receiptCard(box, chosen) {
  const card = document.createElement("article");
  card.className = "fx-card fx-receipt";
  card.dataset.box = box.box;
  const head = document.createElement("div");
  head.className = "fx-what";
  head.textContent = `${box.box} · ${t("lab.from", { courier: box.from || "?" })}`;
  const count = document.createElement("div");
  count.className = "fx-sub";
  count.textContent = t("lab.tube_count", { expected: box.expected, listed: box.tubes.length });
  card.append(head, count);
  for (const tube of box.tubes) {
    const row = document.createElement("div");
    row.className = "fx-tube-row";
    row.dataset.tube = tube.barcode;
    const label = document.createElement("div");
    label.className = "fx-tube-code";
    label.textContent = tube.barcode;
    const choices = document.createElement("div");
    choices.className = "fx-conditions";
    const current = chosen[tube.barcode] || "good";
    for (const condition of CONDITIONS) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "fx-condition";
      button.dataset.condition = condition;
      button.setAttribute("aria-pressed", String(condition === current));
      button.textContent = t(`cond.${condition}`);
      button.addEventListener("click", () => serial(() => mark(box.box, tube.barcode, condition)));
      choices.append(button);
    }
    row.append(label, choices);
    card.append(row);
  }
  const sign = document.createElement("button");
  sign.type = "button";
  sign.className = "fx-danger fx-wide";
  sign.textContent = t("lab.sign");
  sign.addEventListener("click", () => serial(() => signOff(box)));
  card.append(sign);
  return card;
}

async function drawLab() {
  const d = await draft();
  const courier = $("#lab-courier");
  if (document.activeElement !== courier) courier.value = d.courier;
  tid("lab-count").textContent = String(d.boxes.length);
  tid("lab-boxes").replaceChildren(...d.boxes.map((b) => listItem(b, () => removeBox(b))));

  const boxes = await kvGet(BOXES, []);
  const chosen = await marks();
  const local = await localEvents(0);
  const pendingReceipts = new Set(
    local.filter((r) => r.event.type === "box_received" && r.status === "pending").map((r) => r.event.box)
  );
  const known = new Set(boxes.map((b) => b.box));
  const waiting = boxes.filter((b) => b.state !== "received" && !pendingReceipts.has(b.box));
  const receipts = tid("receipts");
  const cards = waiting.map((b) => receiptCard(b, chosen[b.box] || {}));
  // Handovers this device recorded that the server has not listed yet.
  for (const rec of local) {
    if (rec.event.type !== "handover" || rec.event.to !== ui.shell.context.lab) continue;
    for (const box of rec.event.boxes) {
      if (known.has(box)) continue;
      known.add(box);
      const p = document.createElement("p");
      p.className = "fx-card fx-sub";
      p.textContent = `${box} · ${t("lab.waiting")}`;
      cards.push(p);
    }
  }
  if (!cards.length) {
    const p = document.createElement("p");
    p.className = "fx-empty";
    p.textContent = t("lab.none");
    cards.push(p);
  }
  receipts.replaceChildren(...cards);

  const missing = [];
  for (const b of boxes) {
    if (pendingReceipts.has(b.box)) missing.push(t("lab.pending_receipt", { box: b.box }));
    else if (b.state !== "received") missing.push(t("lab.not_received", { box: b.box }));
    else if (b.missing.length) missing.push(t("lab.missing", { box: b.box, tubes: b.missing.join("、") }));
    else missing.push(t("lab.all_here", { box: b.box, n: b.tubes.length }));
  }
  tid("expected-missing").replaceChildren(
    ...(missing.length ? missing : [t("lab.nothing")]).map((text) => listItem(text))
  );
}

// --- results file ---------------------------------------------------------------------------

async function uploadResults() {
  const report = tid("results-report");
  const file = $("#results-file").files[0];
  if (!file) return ui.say(t("results.choose"), "bad");
  if (!navigator.onLine) return ui.say(t("results.offline"), "bad");
  const body = new FormData();
  body.append("file", file, file.name);
  let response;
  try {
    response = await fetch("/api/v1/field/lab/results", {
      method: "POST",
      body,
      headers: { Authorization: `Bearer ${await getToken()}` },
      credentials: "omit",
      cache: "no-store",
    });
  } catch (err) {
    return ui.say(t("results.offline"), "bad");
  }
  const answer = await response.json().catch(() => ({}));
  if (response.status === 422 && Array.isArray(answer.detail)) {
    const message = answer.detail.map((d) => d.msg).join("; ");
    report.replaceChildren(listItem(t("results.refused", { message })));
    return ui.say(t("results.refused", { message }), "bad");
  }
  if (!response.ok) return ui.say(`HTTP ${response.status}`, "bad");
  const summary = t("results.done", {
    file: answer.file,
    accepted: answer.accepted,
    duplicate: answer.duplicate,
    rejected: answer.rejected,
    invalid: answer.problems.length,
  });
  const rows = [...answer.problems, ...answer.rejections]
    .sort((a, b) => a.row - b.row)
    .map((p) => {
      const message = english() ? p.message_en : p.message_zh;
      return listItem(t("results.row", { row: p.row, message }));
    });
  const list = document.createElement("ul");
  list.className = "fx-list fx-card";
  list.append(listItem(summary), ...rows);
  report.replaceChildren(list);
  ui.say(summary, answer.rejected || answer.problems.length ? "bad" : "ok");
  $("#results-file").value = "";
}

export function mountLab(shellApi) {
  ui = shellApi;
  serial = serialQueue((message, kind) => ui.say(message, kind));
  const opensOn = ui.shell.startView;
  ui.shell.startView = (context) => (context.lab ? "lab" : opensOn(context));
  ui.registerView("lab", {
    show: () =>
      serial(async () => {
        await drawLab();
        await refreshBoxes();
        await drawLab();
      }),
  });
  ui.registerView("results", { show: () => undefined });
  onEnter($("#lab-courier-form"), $("#lab-courier"), setCourier, serial);
  onEnter($("#lab-scan-form"), $("#lab-scan"), addBox, serial);
  $("#lab-handover").addEventListener("click", () => serial(takeOver));
  $("#results-form").addEventListener("submit", (e) => {
    // At once, not inside serial(): queued work runs after the browser has submitted the form.
    e.preventDefault();
    serial(uploadResults);
  });
}
