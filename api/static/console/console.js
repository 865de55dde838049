// The console's few behaviours; every page works without them.
"use strict";
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
    return;
  }
  if (form.method.toLowerCase() !== "post") return;
  // A double click sends one request; the server also acts once per form key.
  if (form.dataset.sent) {
    event.preventDefault();
    return;
  }
  form.dataset.sent = "1";
  for (const button of form.querySelectorAll("button[type=submit]")) {
    button.disabled = true;
    button.dataset.label = button.textContent;
    button.textContent = "处理中…";
  }
});
// A ticked bank return needs its reason.
document.addEventListener("change", (event) => {
  const box = event.target;
  if (box.matches && box.matches("input[type=checkbox][data-reason]")) {
    const reason = document.getElementById(box.dataset.reason);
    if (reason) {
      reason.required = box.checked;
      if (box.checked) reason.focus();
    }
  }
});
document.addEventListener("click", (event) => {
  if (event.target.matches && event.target.matches("[data-print]")) window.print();
});
// Back from another page restores a form as it was: let it be sent again.
window.addEventListener("pageshow", () => {
  for (const form of document.querySelectorAll("form[data-sent]")) {
    delete form.dataset.sent;
    for (const button of form.querySelectorAll("button[type=submit]")) {
      button.disabled = false;
      if (button.dataset.label) button.textContent = button.dataset.label;
    }
  }
});
