// The citizen form's optional extras: photos uploaded straight to storage, and the phone's location.
// Without JavaScript the form still works; only these two extras are off.
(function () {
  "use strict";
  var MAX_PHOTOS = 5, MAX_BYTES = 10 * 1024 * 1024;
  var TYPES = { "image/jpeg": true, "image/png": true, "image/heic": true, "image/heif": true };
  var input = document.getElementById("photo-input");
  var keys = document.getElementById("photo-keys");
  var list = document.getElementById("photo-list");
  var error = document.getElementById("photos-error");
  var form = document.getElementById("report-form");
  var grants = form && form.getAttribute("data-uploads");  // under the site's base path (e.g. /api/ on execute-api)
  var submit = form && form.querySelector("button[type=submit]");
  var pending = 0;
  if (!input || !keys || !form || !grants) { return; }

  input.disabled = false;
  document.getElementById("photo-nojs").hidden = true;

  function say(text) { error.textContent = text; error.hidden = !text; }
  function current() { return keys.value ? keys.value.split(",").filter(Boolean) : []; }
  function typeOf(file) {
    if (file.type) { return file.type; }
    return /\.(heic|heif)$/i.test(file.name) ? "image/heic" : "";
  }
  function busy(delta) {
    pending += delta;
    submit.disabled = pending > 0;
    submit.textContent = pending > 0 ? "Đang tải ảnh lên…" : "Gửi phản ánh";
  }
  function item(text) {
    var li = document.createElement("li");
    li.textContent = text;  // file names are text, never markup
    list.appendChild(li);
    return li;
  }
  function upload(file) {
    return fetch(grants, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ content_type: typeOf(file), size: file.size })
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) { throw new Error(body.error ? body.error.message : "Không tải được ảnh lên."); }
        return body;
      });
    }).then(function (grant) {
      var data = new FormData();
      Object.keys(grant.fields).forEach(function (name) { data.append(name, grant.fields[name]); });
      data.append("file", file);
      return fetch(grant.url, { method: "POST", body: data }).then(function (response) {
        if (!response.ok) { throw new Error("Kho lưu trữ từ chối ảnh (" + response.status + ")."); }
        return grant.key;
      });
    });
  }

  input.addEventListener("change", function () {
    say("");
    var files = Array.prototype.slice.call(input.files || []);
    if (current().length + files.length > MAX_PHOTOS) {
      say("Tối đa 5 ảnh.");
      input.value = "";
      return;
    }
    for (var i = 0; i < files.length; i++) {
      if (!TYPES[typeOf(files[i])]) {
        say("Tệp “" + files[i].name + "” không phải ảnh JPEG, PNG hoặc HEIC.");
        input.value = "";
        return;
      }
      if (files[i].size > MAX_BYTES || files[i].size === 0) {
        say("Ảnh “" + files[i].name + "” lớn hơn 10 MB.");
        input.value = "";
        return;
      }
    }
    files.forEach(function (file) {
      var li = item(file.name + ": đang tải lên…");
      busy(1);
      upload(file).then(function (key) {
        keys.value = current().concat([key]).join(",");
        li.textContent = file.name + ": đã tải lên";
        li.className = "uploaded";
      }).catch(function (problem) {
        li.textContent = file.name + ": không tải được";
        say(problem.message);
      }).then(function () { busy(-1); });
    });
    input.value = "";
  });

  var block = document.getElementById("location-block");
  if (block && navigator.geolocation) {
    block.hidden = false;
    document.getElementById("use-location").addEventListener("click", function () {
      var status = document.getElementById("location-status");
      status.textContent = "Đang lấy vị trí…";
      navigator.geolocation.getCurrentPosition(function (position) {
        document.getElementById("lat").value = position.coords.latitude.toFixed(6);
        document.getElementById("lon").value = position.coords.longitude.toFixed(6);
        status.textContent = "Đã lấy vị trí: " + position.coords.latitude.toFixed(5) + ", " +
          position.coords.longitude.toFixed(5);
      }, function () {
        status.textContent = "Không lấy được vị trí; hãy ghi địa chỉ cụ thể.";
      }, { enableHighAccuracy: true, timeout: 10000 });
    });
  }
}());
