/* Q&A suggestions while a question is typed: the citizen report form and the phone intake. The text typed
   is POSTed as JSON (never put in a URL) at most once per pause in typing; the matching articles are listed
   under the box with a link to each. The citizen may still send the report; the operator reads the answer
   to the caller. Without this script the forms work as before, and /hoi-dap can be searched. */
(function () {
  "use strict";
  var box = document.querySelector("textarea[data-kb-suggest]");
  if (!box || !window.fetch || !window.JSON) { return; }
  var endpoint = box.getAttribute("data-kb-suggest");
  var staff = box.getAttribute("data-kb-mode") === "staff";
  var category = document.getElementById("category");
  var panel = document.createElement("section");
  panel.id = "kb-suggestions";
  panel.setAttribute("aria-live", "polite");
  panel.className = "card";
  panel.hidden = true;
  box.parentNode.insertBefore(panel, box.nextSibling);
  var timer = null, last = "", seq = 0;

  function el(tag, text, attrs) {
    var node = document.createElement(tag);
    if (text) { node.textContent = text; }
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }

  function show(articles) {
    panel.textContent = "";
    if (!articles.length) { panel.hidden = true; return; }
    panel.appendChild(el("h2", staff ? "Bài hỏi đáp có thể trả lời ngay" : "Có thể bạn cần: hướng dẫn chính thức",
                         {style: "font-size:1rem;margin:0 0 .4rem"}));
    var list = el("ul", "", {style: "margin:0;padding-left:1.1rem"});
    articles.forEach(function (a) {
      var item = el("li", "", {"class": "kb-suggestion"});
      var link = el("a", a.title, {href: a.url, target: "_blank", rel: "noopener"});
      item.appendChild(link);
      if (staff) {
        var more = el("details");
        more.appendChild(el("summary", "Xem câu trả lời để đọc cho người gọi"));
        more.appendChild(el("p", a.answer, {style: "white-space:pre-line"}));
        item.appendChild(more);
      } else {
        item.appendChild(el("p", a.short_answer || a.answer, {style: "margin:.2rem 0 .5rem"}));
      }
      list.appendChild(item);
    });
    panel.appendChild(list);
    if (!staff) {
      panel.appendChild(el("p", "Nếu hướng dẫn trên chưa giải đáp được, bạn cứ tiếp tục gửi phản ánh.",
                           {"class": "hint", style: "margin:.4rem 0 0"}));
    }
    panel.hidden = false;
  }

  function ask() {
    var text = box.value.slice(0, 2000);
    var key = text + "|" + (category ? category.value : "");
    if (key === last) { return; }
    last = key;
    if (text.trim().split(/\s+/).length < 2) { show([]); return; }
    var mine = ++seq;
    var body = {text: text};
    if (category && category.value) { body.category = category.value; }
    fetch(endpoint, {method: "POST", headers: {"Content-Type": "application/json"}, credentials: "same-origin",
                     body: JSON.stringify(body)})
      .then(function (r) { return r.ok ? r.json() : {articles: []}; })
      .then(function (data) { if (mine === seq) { show(data.articles || []); } })
      .catch(function () { /* suggestions are an extra: the form works without them */ });
  }

  function later() { clearTimeout(timer); timer = setTimeout(ask, 400); }
  box.addEventListener("input", later);
  if (category) { category.addEventListener("change", later); }
  if (box.value) { later(); }
})();
