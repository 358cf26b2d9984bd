// The knowledge-base editor's PDF source: uploaded straight to storage with a presigned POST, its key kept
// in a hidden field that the form's save sends. Without JavaScript the editor still works (a link instead).
(function () {
  "use strict";
  var form = document.getElementById("kb-form");
  var input = document.getElementById("kb-pdf");
  var key = document.getElementById("kb-pdf-key");
  var status = document.getElementById("kb-pdf-status");
  if (!form || !input || !key || !window.fetch || !window.FormData) { return; }
  var MAX = 20 * 1024 * 1024;
  status.textContent = "Chọn tệp PDF để tải lên; tệp được lưu khi bấm Lưu.";
  input.addEventListener("change", function () {
    var file = input.files && input.files[0];
    key.value = "";
    if (!file) { return; }
    if (file.type !== "application/pdf") { status.textContent = "Chỉ nhận tệp PDF."; input.value = ""; return; }
    if (file.size > MAX) { status.textContent = "Tệp PDF tối đa 20 MB."; input.value = ""; return; }
    status.textContent = "Đang tải lên…";
    fetch(form.getAttribute("data-uploads"), {
      method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ csrf: form.elements.csrf.value, content_type: file.type, size: file.size })
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) { throw new Error(body.error ? body.error.message : "Không tải được tệp lên."); }
        return body;
      });
    }).then(function (grant) {
      var data = new FormData();
      Object.keys(grant.fields).forEach(function (name) { data.append(name, grant.fields[name]); });
      data.append("file", file);
      return fetch(grant.url, { method: "POST", body: data }).then(function (response) {
        if (!response.ok) { throw new Error("Kho lưu trữ từ chối tệp (" + response.status + ")."); }
        key.value = grant.key;
        status.textContent = "Đã tải lên “" + file.name + "”. Bấm Lưu để gắn vào bài.";
      });
    }).catch(function (error) { status.textContent = error.message; input.value = ""; });
  });
})();
