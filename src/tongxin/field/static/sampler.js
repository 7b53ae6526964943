// The sampler's screens: scan a person then a tube, close a tube short (this module), pack
// and seal a box (box.js), and the list of events the server rejected (rejected.js).
//
//   mountSampler(ui)              ui is the shell's {registerView, go, say, shell} (app.js).
//
// Every action is checked on the device first against what it knows (context.js: capacity,
// closed tube, sealed box, tube not issued for the round); a refusal never leaves the
// device. What passes becomes a ledger event in the queue (queue.js), and the server has the
// final word: its rejections come back into the rejected list with code, message and hint.
//
// Kept in IndexedDB across reloads: the current tube (and, in box.js, the box being packed).

import { kvGet, kvSet } from "./db.js";
import { enqueue } from "./queue.js";
import {
  checkClose,
  checkSwab,
  classify,
  deviceView,
  getStation,
  maskIdNumber,
  setStation,
  viewKnowing,
} from "./context.js";
import { onEnter, serialQueue } from "./forms.js";
import { t } from "./i18n.js";
import { mountBox } from "./box.js";
import { mountRejected } from "./rejected.js";

const $ = (sel) => document.querySelector(sel);
const tid = (id) => document.querySelector(`[data-testid=${id}]`);

let ui = null; // {registerView, go, say, shell}
let person = null; // {wire, label, capacity, note}
let serial = null; // scans one at a time (forms.serialQueue), made at mount

function capacityText(capacity) {
  if (capacity === 0) return t("person.household");
  if (capacity === 1) return t("person.single");
  return t("person.capacity", { n: capacity });
}

function fillText(tb) {
  return tb.capacity > 0 ? `${tb.fill}/${tb.capacity}` : `${tb.fill}`;
}

// --- sampler ------------------------------------------------------------------------------

async function station() {
  return getStation();
}

async function recordSwab(barcode) {
  const view = await viewKnowing(barcode);
  const refused = checkSwab(view, person, barcode);
  if (refused) {
    ui.say(refused.message, "bad");
    return;
  }
  const st = await station();
  await enqueue({ type: "swab_taken", station: st, tube: barcode, person: person.wire });
  await kvSet("currentTube", barcode);
  const after = (await deviceView()).tube(barcode);
  const name = person.label;
  person = null;
  if (after.state === "closed") {
    ui.say(`${t("scan.recorded", { name, tube: barcode, fill: fillText(after) })} · ${t("scan.tube_full_closed", { tube: barcode, fill: fillText(after) })}`, "ok");
  } else {
    ui.say(t("scan.recorded", { name, tube: barcode, fill: fillText(after) }), "ok");
  }
  await drawSampler();
}

async function chooseTube(barcode) {
  const view = await viewKnowing(barcode);
  const tb = view.tube(barcode);
  if (!tb) {
    ui.say(t("refuse.tube_unknown", { tube: barcode }), "bad");
    return;
  }
  if (tb.state !== "issued" && tb.state !== "open") {
    ui.say(t("refuse.tube_closed", { tube: barcode }), "bad");
    return;
  }
  await kvSet("currentTube", barcode);
  ui.say(`${t("scan.tube_set", { tube: barcode })} · ${t("scan.person_first")}`, "info");
  await drawSampler();
}

async function takePerson(next) {
  person = next;
  ui.say(next.note ? `${next.note} · ${t("scan.tube_now")}` : t("scan.tube_now"), "ok");
  await drawSampler();
}

async function handleScan(text) {
  const scanned = classify(text);
  if (!(await station())) {
    ui.say(t("refuse.station_missing"), "bad");
    return;
  }
  if (scanned.kind === "tube") {
    if (person) await recordSwab(scanned.value);
    else await chooseTube(scanned.value);
    return;
  }
  if (scanned.kind === "resident") {
    const view = await deviceView();
    const known = view.resident(scanned.value);
    const notes = [];
    if (!known) notes.push(t("person.not_listed", { code: scanned.value }));
    if (view.sampledBefore(scanned.value)) notes.push(t("person.sampled"));
    await takePerson({
      wire: { resident_code: scanned.value },
      label: known ? known.name : scanned.value,
      // Not on this site's list: only the server knows their zone and group.
      capacity: known ? known.capacity : null,
      note: notes.join(" · "),
    });
    return;
  }
  if (scanned.kind === "id_number") {
    const view = await deviceView();
    const again = view.sampledBefore(scanned.value) ? ` · ${t("person.sampled")}` : "";
    await takePerson({
      wire: { id_number: scanned.value, id_type: "resident_card" },
      label: maskIdNumber(scanned.value),
      capacity: null,
      note: t("person.walk_in") + again,
    });
    return;
  }
  ui.say(t(scanned.kind === "bad_tube" ? "scan.bad_tube" : "scan.unknown", { value: scanned.value }), "bad");
}

async function walkIn(event) {
  event.preventDefault();
  const form = $("#walk-in-form");
  const number = form.elements.id_number.value.trim().toUpperCase();
  if (!number) return;
  const name = form.elements.name.value.trim();
  const phone = form.elements.phone.value.trim();
  const wire = { id_number: number, id_type: /^\d{17}[\dX]$/.test(number) ? "resident_card" : "other" };
  if (name) wire.name = name;
  if (phone) wire.phone = phone;
  form.reset();
  form.hidden = true;
  await takePerson({
    wire,
    label: name ? name[0] + "*".repeat(Math.max(name.length - 1, 1)) : maskIdNumber(number),
    capacity: null,
    note: t("person.walk_in"),
  });
}

async function closeShort(event) {
  event.preventDefault();
  const form = $("#close-short-form");
  const reason = (form.elements.reason.value || form.elements.other.value).trim();
  const barcode = await kvGet("currentTube", null);
  const view = await deviceView();
  if (!barcode) {
    ui.say(t("tube.none"), "bad");
    return;
  }
  const refused = checkClose(view, barcode, reason);
  if (refused) {
    ui.say(refused.message, "bad");
    return;
  }
  await enqueue({ type: "tube_closed", tube: barcode, reason, station: await station() });
  form.hidden = true;
  ui.say(t("tube.closed_short", { tube: barcode }), "ok");
  await drawSampler();
}

async function drawSampler() {
  const view = await deviceView();
  if (!view) return;
  const ctx = view.context;
  tid("where").textContent = `${ctx.round.code} · ${ctx.site ? ctx.site.name : ""}`;
  const select = $("#station");
  const chosen = await station();
  if (select.options.length !== (ctx.site ? ctx.site.stations.length : 0)) {
    select.replaceChildren(
      ...(ctx.site ? ctx.site.stations : []).map((code) => new Option(code, code))
    );
  }
  if (chosen) select.value = chosen;
  else if (select.value) await setStation(select.value);
  tid("person").textContent = person ? person.label : t("scan.person_first");
  tid("person").dataset.state = person ? "scanned" : "empty";
  tid("person-rule").textContent = person
    ? [person.capacity != null ? capacityText(person.capacity) : "", person.note]
        .filter(Boolean)
        .join(" · ")
    : "";
  const barcode = await kvGet("currentTube", null);
  const tb = barcode ? view.tube(barcode) : null;
  tid("tube").textContent = barcode || t("tube.none");
  tid("fill").textContent = tb ? fillText(tb) : "–";
  tid("fill").dataset.state = tb ? tb.state : "";
  tid("tube-rule").textContent = tb
    ? `${capacityText(tb.capacity)}${tb.state === "closed" || tb.state === "boxed" ? ` · ${t("tube.closed")}` : ""}`
    : "";
  tid("names").replaceChildren(
    ...(tb ? tb.names : []).map((n) => {
      const li = document.createElement("li");
      li.textContent = n;
      return li;
    })
  );
  $("#into-current").hidden = !(person && tb && (tb.state === "open" || tb.state === "issued"));
  // A keyboard-wedge scanner types wherever the focus is: keep it on the scan field unless
  // the sampler is filling in a form field.
  const active = document.activeElement;
  if (!active || active === document.body || active.tagName === "BUTTON") $("#scan").focus();
}

// --- camera -------------------------------------------------------------------------------

async function scanWithCamera(onCode) {
  const video = $("#camera-view");
  const detector = new window.BarcodeDetector();
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { facingMode: "environment" },
  });
  video.srcObject = stream;
  video.hidden = false;
  await video.play();
  const stop = () => {
    for (const track of stream.getTracks()) track.stop();
    video.hidden = true;
  };
  const look = async () => {
    if (video.hidden) return;
    try {
      const found = await detector.detect(video);
      if (found.length) {
        stop();
        onCode(found[0].rawValue);
        return;
      }
    } catch (err) {
      stop();
      return;
    }
    setTimeout(look, 200);
  };
  video.addEventListener("click", stop, { once: true });
  look();
}

// --- wiring -------------------------------------------------------------------------------

export function mountSampler(shellApi) {
  ui = shellApi;
  serial = serialQueue((message, kind) => ui.say(message, kind));
  ui.registerView("sampler", { show: () => serial(drawSampler) });
  mountBox({ ui, serial });
  mountRejected({ ui, serial });
  onEnter($("#scan-form"), $("#scan"), handleScan, serial);
  $("#walk-in-form").addEventListener("submit", (e) => {
    e.preventDefault(); // at once: serial() may run the handler after the browser submits
    serial(() => walkIn(e));
  });
  $("#close-short-form").addEventListener("submit", (e) => {
    e.preventDefault(); // at once: serial() may run the handler after the browser submits
    serial(() => closeShort(e));
  });
  $("#walk-in-open").addEventListener("click", () => {
    $("#walk-in-form").hidden = !$("#walk-in-form").hidden;
    $("#close-short-form").hidden = true;
    if (!$("#walk-in-form").hidden) $("#walk-id").focus();
  });
  $("#close-short-open").addEventListener("click", () => {
    $("#close-short-form").hidden = !$("#close-short-form").hidden;
    $("#walk-in-form").hidden = true;
  });
  $("#into-current").addEventListener("click", () =>
    serial(async () => {
      const barcode = await kvGet("currentTube", null);
      if (person && barcode) await recordSwab(barcode);
    })
  );
  $("#station").addEventListener("change", (e) => serial(() => setStation(e.target.value)));
  if ("BarcodeDetector" in window && navigator.mediaDevices) {
    // Only where the browser can read barcodes from the camera; elsewhere the button stays
    // hidden and the keyboard-wedge scanner or typing does the work.
    const camera = $("#camera");
    camera.hidden = false;
    camera.addEventListener("click", () =>
      scanWithCamera((code) => serial(() => handleScan(code))).catch((err) =>
        ui.say(String(err), "bad")
      )
    );
  }
}
