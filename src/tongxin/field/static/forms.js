// What every screen's forms share: scans handled one at a time, fields that act on Enter,
// list entries with a remove button.
//
//   serialQueue(say) -> serial     serial(work) runs work after every earlier one; an error
//                                  is logged and shown with say(message, "bad").
//   onEnter(form, input, handle, serial)
//                                  on submit (a wedge scanner's Enter, or the button), take
//                                  the field's text, clear it, and handle it in turn.
//   removableItem(text, onRemove, serial) -> <li>
//                                  a list entry; with onRemove, a ✕ button that runs it.

export function serialQueue(say) {
  // A wedge scanner types a code and Enter faster than IndexedDB answers: scans must be
  // handled strictly one after another, in the order scanned.
  let busy = Promise.resolve();
  return (work) => {
    busy = busy.then(work, work).catch((err) => {
      console.error(err);
      say(String(err), "bad");
    });
    return busy;
  };
}

export function onEnter(form, input, handle, serial) {
  form.addEventListener("submit", (event) => {
    // At once, not in the queued handler: a handler still waiting would let the browser
    // submit the form natively and reload the page.
    event.preventDefault();
    const text = input.value;
    input.value = "";
    if (text.trim()) serial(() => handle(text));
  });
}

export function removableItem(text, onRemove, serial) {
  const li = document.createElement("li");
  li.textContent = text;
  if (onRemove) {
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "fx-link";
    remove.textContent = "✕";
    remove.setAttribute("aria-label", `remove ${text}`);
    remove.addEventListener("click", () => serial(onRemove));
    li.append(" ", remove);
  }
  return li;
}
