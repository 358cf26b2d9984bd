// The staff console's live parts. Without JavaScript every page still works (a "Tải lại" link).
// - The inbox (#live) polls its counts every 25 s: the counts in the navigation and the tabs follow,
//   and "n phản ánh mới — tải lại" appears when tickets arrived or citizens wrote since it was shown.
// - A ticket page (#presence) tells the server every 30 s that it is open, and shows who else has it.
// Polls pause while the tab is hidden.
(function () {
  "use strict";
  var COUNTS_EVERY_MS = 25000, PRESENCE_EVERY_MS = 30000;

  function every(ms, task) {
    var timer = null;
    function schedule() { timer = window.setTimeout(run, ms); }
    function run() {
      timer = null;
      if (document.hidden) { return; }  // resumed by visibilitychange
      task().then(function (go) { if (go !== false) { schedule(); } }, schedule);
    }
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && timer === null) { run(); }
    });
    schedule();
  }

  function showCounts(counts) {
    var marks = document.querySelectorAll("[data-count]");
    for (var i = 0; i < marks.length; i++) {
      var view = marks[i].getAttribute("data-count");
      if (Object.prototype.hasOwnProperty.call(counts, view)) {
        marks[i].textContent = String(counts[view]);
        if (view === "new") { marks[i].classList.toggle("hot", counts[view] > 0); }
      }
    }
  }

  var live = document.getElementById("live");
  if (live) {
    var news = document.getElementById("live-news");
    var since = live.getAttribute("data-since");
    var newAtStart = parseInt(live.getAttribute("data-new") || "0", 10);
    var url = live.getAttribute("data-counts") + "?since=" + encodeURIComponent(since);
    every(COUNTS_EVERY_MS, function () {
      return fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (response.status === 401) {
            news.textContent = "Phiên đăng nhập đã hết — tải lại trang";
            news.hidden = false;
            return false;  // stop polling
          }
          if (!response.ok) { return true; }
          return response.json().then(function (body) {
            showCounts(body.counts || {});
            var parts = [];
            if (body.arrived > 0) { parts.push(body.arrived + " phản ánh mới"); }
            var wrote = (body.counts && body.counts["new"] || 0) - newAtStart;
            if (wrote > 0) { parts.push(wrote + " phản ánh có tin nhắn mới"); }
            if (parts.length) {
              news.textContent = parts.join(", ") + " — tải lại";
              news.hidden = false;
            }
            return true;
          });
        });
    });
  }

  var presence = document.getElementById("presence");
  if (presence) {
    var names = document.getElementById("presence-names");
    var body = "csrf=" + encodeURIComponent(presence.getAttribute("data-csrf") || "");
    every(PRESENCE_EVERY_MS, function () {
      return fetch(presence.getAttribute("data-url"), {
        method: "POST", credentials: "same-origin", cache: "no-store",
        headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" }, body: body
      }).then(function (response) {
        if (!response.ok) { return response.status !== 401 && response.status !== 403 && response.status !== 404; }
        return response.json().then(function (answer) {
          var others = answer.others || [];
          names.textContent = others.join(", ");  // names are text, never markup
          presence.hidden = others.length === 0;
          return true;
        });
      });
    });
  }
}());
