// The screen-pop: while a desk page is visible it asks /staff/calls/live every 3 s which calls ring or
// are answered. The call ringing to (or answered by) this operator — or, when none is, a call ringing
// to nobody in particular — shows as a banner at the top of the page with who is calling: its card
// (open tickets, recent calls and messages, "Tạo phản ánh từ cuộc gọi", "Thêm vào phản ánh …") is
// fetched once per new call. A call that ends keeps its card until closed, so a ticket can still be
// made from it. Latency: at most the poll interval plus one request. Without JavaScript the call log
// (/staff/cuoc-goi) lists the live calls with the same buttons.
(function () {
  "use strict";
  var EVERY_MS = 3000;
  var pop = document.getElementById("call-pop");
  if (!pop || !window.fetch) { return; }
  var liveUrl = pop.getAttribute("data-live"), cardBase = pop.getAttribute("data-card");
  var me = pop.getAttribute("data-me");
  var shown = null, dismissed = {}, timer = null;

  function pick(calls) {
    var i, call, free = null;
    for (i = 0; i < calls.length; i++) {
      call = calls[i];
      if (call.ringing_to === me || call.answered_by === me) { return call; }
      if (!free && call.status === "ringing" && !call.ringing_to && !call.answered_by) { free = call; }
    }
    return free;
  }

  function ended() {
    var title = document.getElementById("call-pop-title");
    if (title && !document.getElementById("call-pop-ended")) {
      var note = document.createElement("p");
      note.id = "call-pop-ended";
      note.className = "muted";
      note.textContent = "Cuộc gọi đã kết thúc.";
      title.parentNode.insertBefore(note, title.nextSibling);
    }
  }

  function close() {
    if (shown) { dismissed[shown] = true; }
    shown = null;
    pop.hidden = true;
    pop.textContent = "";
  }

  function show(call) {
    shown = call.call_id;
    pop.textContent = "Cuộc gọi đến từ " + (call.caller_display || "số ẩn") + " …";
    pop.hidden = false;
    return fetch(cardBase + encodeURIComponent(call.call_id) + "/the?bare=1",
                 { credentials: "same-origin", cache: "no-store", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null || shown !== call.call_id) { return; }
        pop.innerHTML = html;  // our own server's autoescaped fragment
        var button = document.createElement("button");
        button.type = "button";
        button.className = "link";
        button.id = "call-pop-close";
        button.textContent = "Đóng";
        button.addEventListener("click", close);
        pop.appendChild(button);
      });
  }

  function poll() {
    return fetch(liveUrl, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 401 || response.status === 403) { return false; }  // signed out: stop
        if (!response.ok) { return true; }
        return response.json().then(function (body) {
          var calls = body.calls || [], call = pick(calls), i, live = false;
          for (i = 0; i < calls.length; i++) { if (calls[i].call_id === shown) { live = true; } }
          if (call && call.call_id !== shown && !dismissed[call.call_id] && !(shown && live)) {
            return show(call).then(function () { return true; }, function () { return true; });
          }
          if (shown && !live) { ended(); }
          return true;
        });
      });
  }

  function run() {
    timer = null;
    if (document.hidden) { return; }  // resumed by visibilitychange
    poll().then(function (go) { if (go !== false) { timer = window.setTimeout(run, EVERY_MS); } },
                function () { timer = window.setTimeout(run, EVERY_MS); });
  }
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && timer === null) { run(); }
  });
  run();
}());
