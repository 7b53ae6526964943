// The rejected tab: what the server refused, with its reason and what to do about it.
//
//   mountRejected({ui, serial})   see box.js.
//
// The list is the queue's rejected records (IndexedDB), so it survives reloads until the
// sampler marks one dealt with (dismiss) or the command centre resolves it on the server.

import { dismiss, rejected } from "./queue.js";
import { maskIdNumber } from "./context.js";
import { hint, t } from "./i18n.js";

const tid = (id) => document.querySelector(`[data-testid=${id}]`);
let ui = null;
let serial = null;

function describe(ev) {
  const label = t(`type.${ev.type}`);
  if (ev.type === "swab_taken") {
    const who = ev.person.resident_code || maskIdNumber(ev.person.id_number);
    return `${label} · ${who} → ${ev.tube}`;
  }
  if (ev.type === "tube_closed") return `${label} · ${ev.tube}`;
  if (ev.type === "box_sealed") return `${label} · ${ev.box} (${ev.tubes.length})`;
  return label;
}

async function drawRejected() {
  const list = tid("rejected-list");
  const records = await rejected();
  const english = document.documentElement.lang.startsWith("en");
  if (!records.length) {
    const li = document.createElement("li");
    li.className = "fx-empty";
    li.textContent = t("rejected.none");
    list.replaceChildren(li);
    return;
  }
  list.replaceChildren(
    ...records.map((rec) => {
      const li = document.createElement("li");
      li.className = "fx-card fx-rejected-item";
      li.dataset.eventId = rec.id;
      const what = document.createElement("div");
      what.className = "fx-what";
      what.textContent = describe(rec.event);
      const reason = document.createElement("div");
      reason.className = "fx-reason";
      reason.dataset.testid = "reason";
      const message = (english ? rec.message_en : rec.message) || rec.message || "";
      reason.textContent = `${message} (${rec.code})`;
      const todo = document.createElement("div");
      todo.className = "fx-hint";
      todo.textContent = hint(rec.code);
      const done = document.createElement("button");
      done.type = "button";
      done.className = "fx-secondary";
      done.textContent = english ? "Dealt with" : "已处理";
      done.addEventListener("click", () =>
        serial(async () => {
          await dismiss(rec.id);
          ui.say(t("rejected.dismissed"), "info");
          await drawRejected();
        })
      );
      li.append(what, reason, todo, done);
      return li;
    })
  );
}

export function mountRejected(deps) {
  ({ ui, serial } = deps);
  ui.registerView("rejected", { show: () => serial(drawRejected) });
}
