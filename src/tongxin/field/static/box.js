// The box tab: scan a box code, scan closed tubes into it, seal it with count and seal number.
//
//   mountBox({ui, serial})        ui is the shell's {registerView, go, say, shell}; serial
//                                 runs handlers one after another (sampler.js).
//
// The packing list is kept in IndexedDB ("boxDraft"), so a reload mid-packing loses nothing.

import { kvGet, kvSet } from "./db.js";
import { enqueue } from "./queue.js";
import { checkBoxTube, checkSeal, classify, deviceView, getStation } from "./context.js";
import { onEnter, removableItem } from "./forms.js";
import { t } from "./i18n.js";

const $ = (sel) => document.querySelector(sel);
const tid = (id) => document.querySelector(`[data-testid=${id}]`);
let ui = null;
let serial = null;

async function boxDraft() {
  return kvGet("boxDraft", { box: "", tubes: [] });
}

async function setBox(event) {
  event.preventDefault();
  const code = $("#box-code").value.trim().toUpperCase();
  const view = await deviceView();
  if (view.box(code)) {
    ui.say(t("refuse.box_sealed", { box: code }), "bad");
    return;
  }
  const draft = await boxDraft();
  await kvSet("boxDraft", { ...draft, box: code });
  ui.say(code, "ok");
  $("#box-scan").focus();
  await drawBox();
}

async function addToBox(text) {
  const scanned = classify(text);
  if (scanned.kind !== "tube") {
    ui.say(t(scanned.kind === "bad_tube" ? "scan.bad_tube" : "scan.unknown", { value: scanned.value }), "bad");
    return;
  }
  const draft = await boxDraft();
  const refused = checkBoxTube(await deviceView(), scanned.value, draft.tubes);
  if (refused) {
    ui.say(refused.message, "bad");
    return;
  }
  draft.tubes.push(scanned.value);
  await kvSet("boxDraft", draft);
  ui.say(t("box.added", { tube: scanned.value }), "ok");
  await drawBox();
}

async function removeFromBox(barcode) {
  const draft = await boxDraft();
  draft.tubes = draft.tubes.filter((b) => b !== barcode);
  await kvSet("boxDraft", draft);
  await drawBox();
}

async function seal(event) {
  event.preventDefault();
  const draft = await boxDraft();
  const box = ($("#box-code").value.trim() || draft.box).toUpperCase();
  const count = Number.parseInt($("#box-count").value, 10);
  const sealNumber = $("#box-seal").value.trim();
  const refused = Number.isNaN(count)
    ? { message: t("refuse.box_count_missing") }
    : checkSeal(await deviceView(), box, draft.tubes, count, sealNumber);
  if (refused) {
    ui.say(refused.message, "bad");
    return;
  }
  await enqueue({
    type: "box_sealed",
    box,
    tubes: draft.tubes,
    count,
    seal: sealNumber,
    station: await getStation(),
  });
  await kvSet("boxDraft", { box: "", tubes: [] });
  $("#box-code").value = "";
  $("#box-count").value = "";
  $("#box-seal").value = "";
  ui.say(t("box.sealed", { box, count, seal: sealNumber }), "ok");
  await drawBox();
}

async function drawBox() {
  const draft = await boxDraft();
  if (draft.box && !$("#box-code").value) $("#box-code").value = draft.box;
  tid("box-listed").textContent = draft.tubes.length;
  tid("box-tubes").replaceChildren(
    ...draft.tubes.map((barcode) => removableItem(barcode, () => removeFromBox(barcode), serial))
  );
}

export function mountBox(deps) {
  ({ ui, serial } = deps);
  ui.registerView("box", { show: () => serial(drawBox) });
  onEnter($("#box-scan-form"), $("#box-scan"), addToBox, serial);
  $("#box-code-form").addEventListener("submit", (e) => {
    e.preventDefault(); // at once: serial() may run the handler after the browser submits
    serial(() => setBox(e));
  });
  $("#seal-form").addEventListener("submit", (e) => {
    e.preventDefault(); // at once: serial() may run the handler after the browser submits
    serial(() => seal(e));
  });
}
