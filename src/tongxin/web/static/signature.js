// Signature pad on the driver's phone: strokes become an SVG path ("M x y L x y ...") in the
// form's hidden `signature` field, so the server stores a small vector, not an image.
for (const canvas of document.querySelectorAll("canvas[data-signature]")) {
  const form = canvas.closest("form");
  const field = form.querySelector("input[name=signature]");
  const ctx = canvas.getContext("2d");
  let path = "";
  let drawing = false;
  const at = (e) => {
    const r = canvas.getBoundingClientRect();
    return [Math.round(e.clientX - r.left), Math.round(e.clientY - r.top)];
  };
  canvas.addEventListener("pointerdown", (e) => {
    drawing = true;
    const [x, y] = at(e);
    path += `M${x} ${y} `;
    ctx.beginPath();
    ctx.moveTo(x, y);
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!drawing) return;
    const [x, y] = at(e);
    path += `L${x} ${y} `;
    ctx.lineTo(x, y);
    ctx.stroke();
    field.value = path.trim();
  });
  for (const end of ["pointerup", "pointerleave"]) canvas.addEventListener(end, () => { drawing = false; });
  form.querySelector("[data-signature-clear]").addEventListener("click", () => {
    path = "";
    field.value = "";
    ctx.clearRect(0, 0, canvas.width, canvas.height);
  });
}
for (const button of document.querySelectorAll("[data-print]")) {
  button.addEventListener("click", () => window.print());
}
