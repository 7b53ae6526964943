// The hotline desk's fast intake: resident hints as the operator types, the caller's open
// cases (attach instead of a duplicate) and the suggested category, accepted with Alt+S.
// Reads go to /api/v1/hotline/*; the form itself posts to /hotline/intake.
(function () {
  "use strict";
  const form = document.getElementById("intake");
  if (!form) return;
  const hints = document.getElementById("hints");
  const openBox = document.getElementById("open-cases");
  const suggestion = document.getElementById("suggestion");
  const field = (name) => form.elements.namedItem(name);
  const requestId = form.querySelector("[data-request-id]");
  // One id per call taken: a double submit or a resend after a dropped answer opens one case.
  if (requestId && !requestId.value) {
    requestId.value = "desk-" + (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2));
  }

  function debounce(fn, ms) {
    let timer = null;
    return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
  }
  async function getJson(url) {
    const answer = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!answer.ok) return null;
    return answer.json();
  }

  let found = [];
  let active = -1;
  function showHints() {
    hints.replaceChildren();
    found.forEach((h, i) => {
      const li = document.createElement("li");
      li.setAttribute("role", "option");
      li.dataset.code = h.resident_code;
      li.textContent = `${h.name} · ${h.phone} · ${h.address}` + (h.open_cases.length ? ` · 未办结 ${h.open_cases.join(" ")}` : "");
      if (i === active) li.setAttribute("aria-selected", "true");
      li.addEventListener("mousedown", (event) => { event.preventDefault(); pick(i); });
      hints.append(li);
    });
    hints.hidden = found.length === 0;
  }
  function pick(i) {
    const h = found[i];
    if (!h) return;
    field("caller_name").value = h.name;
    if (h.phone) field("caller_phone").value = h.phone;
    field("address").value = h.address;
    field("resident_code").value = h.resident_code;
    found = []; active = -1; showHints();
    checkOpenCases();
    field("description").focus();
  }
  const lookUp = debounce(async (q) => {
    found = (q && (await getJson("/api/v1/hotline/residents?q=" + encodeURIComponent(q)))) || [];
    active = found.length ? 0 : -1;
    showHints();
  }, 200);
  form.querySelectorAll("[data-hint]").forEach((input) => {
    input.addEventListener("input", () => {
      field("resident_code").value = "";
      const value = input.value.trim();
      const digits = value.replace(/\D/g, "");
      if (input.name === "caller_phone") {
        lookUp(digits.length >= 4 ? digits : "");
        checkOpenCases();
      } else {
        lookUp(value);
      }
    });
    input.addEventListener("keydown", (event) => {
      if (hints.hidden || !found.length) return;
      if (event.key === "ArrowDown") { active = (active + 1) % found.length; showHints(); event.preventDefault(); }
      else if (event.key === "ArrowUp") { active = (active - 1 + found.length) % found.length; showHints(); event.preventDefault(); }
      else if (event.key === "Enter") { pick(active); event.preventDefault(); }
      else if (event.key === "Escape") { found = []; showHints(); }
    });
  });

  const checkOpenCases = debounce(async () => {
    const digits = field("caller_phone").value.replace(/\D/g, "");
    const cases = digits.length >= 7 ? (await getJson("/api/v1/hotline/open-cases?phone=" + digits)) || [] : [];
    openBox.replaceChildren();
    if (cases.length) {
      const p = document.createElement("p");
      p.textContent = openBox.dataset.label;
      openBox.append(p);
      for (const c of cases) {
        const button = document.createElement("button");
        button.type = "submit"; button.name = "attach_to"; button.value = c.code;
        button.className = "button small";
        button.dataset.attach = c.code;
        button.textContent = `${openBox.dataset.attach} ${c.code} · ${c.description.slice(0, 30)}`;
        openBox.append(button);
      }
    }
    openBox.hidden = cases.length === 0;
  }, 200);

  let suggested = null;
  const suggest = debounce(async () => {
    const text = field("description").value.trim();
    suggested = text ? await getJson("/api/v1/hotline/suggest?text=" + encodeURIComponent(text)) : null;
    if (!suggested) { suggestion.hidden = true; return; }
    const label = (select, value) => { const o = [...select.options].find((x) => x.value === value); return o ? o.textContent.trim() : value; };
    suggestion.querySelector("[data-category]").textContent = label(field("category"), suggested.category);
    suggestion.querySelector("[data-urgency]").textContent = label(field("urgency"), suggested.urgency);
    suggestion.dataset.category = suggested.category;
    suggestion.dataset.urgency = suggested.urgency;
    suggestion.hidden = false;
  }, 250);
  function accept() {
    if (!suggested) return;
    field("category").value = suggested.category;
    field("urgency").value = suggested.urgency;
    suggestion.dataset.accepted = "true";
  }
  field("description").addEventListener("input", suggest);
  document.getElementById("accept-suggestion").addEventListener("click", accept);
  form.addEventListener("keydown", (event) => {
    if (event.altKey && (event.key === "s" || event.key === "S" || event.code === "KeyS")) { accept(); event.preventDefault(); }
  });
  if (field("caller_phone").value) checkOpenCases();
  if (field("description").value) suggest();
})();
