// Tongxin's own small script: progressive enhancements only; every page works without it.
(function () {
  "use strict";
  // Drop empty fields from GET search forms so result URLs stay short and shareable.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.method.toLowerCase() !== "get") return;
    Array.prototype.forEach.call(form.elements, function (field) {
      if (field.name && field.value === "") field.disabled = true;
    });
    // Re-enable after navigation starts so the back button shows the fields as they were.
    setTimeout(function () {
      Array.prototype.forEach.call(form.elements, function (field) { field.disabled = false; });
    }, 0);
  });
  // Show a busy state on upload so people do not submit a large file twice.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.enctype === "multipart/form-data") {
      var button = form.querySelector("button[type=submit]");
      if (button) { button.disabled = true; button.textContent = button.dataset.busy || button.textContent; }
    }
  });
})();
