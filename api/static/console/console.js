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
  if (form.dataset.progress) upload(event, form);
});
// A large workbook: its upload's progress shown, then the page the server answers with.
function upload(event, form) {
  const bar = document.getElementById(form.dataset.progress);
  const words = form.querySelector("[data-progress-text]");
  if (!bar || !window.XMLHttpRequest || !window.FormData || !window.DOMParser) return;
  event.preventDefault();
  const request = new XMLHttpRequest();
  request.open("POST", form.action);
  request.upload.addEventListener("progress", (e) => {
    if (!e.lengthComputable) return;
    bar.hidden = false;
    bar.max = e.total;
    bar.value = e.loaded;
    if (words) words.textContent = `已上传 ${Math.round((100 * e.loaded) / e.total)}%`;
  });
  request.upload.addEventListener("load", () => {
    if (words) words.textContent = "上传完成，正在检查并导入…";
  });
  request.addEventListener("load", () => {
    const answer = new DOMParser().parseFromString(request.responseText, "text/html");
    document.title = answer.title;
    document.body.replaceWith(answer.body);
    // Redirected (imported): the page it went to; answered at the form's own address (a
    // refusal), the page the form was on, which a reload can show again.
    const posted = new URL(form.action, window.location.href).href;
    const landed = request.responseURL && request.responseURL !== posted;
    window.history.replaceState(null, "", landed ? request.responseURL : window.location.href);
    window.scrollTo(0, 0);
  });
  request.addEventListener("error", () => {
    if (words) words.textContent = "上传失败，请检查网络后重试。";
    delete form.dataset.sent;
    for (const button of form.querySelectorAll("button[type=submit]")) {
      button.disabled = false;
      if (button.dataset.label) button.textContent = button.dataset.label;
    }
  });
  request.send(new FormData(form));
}
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
