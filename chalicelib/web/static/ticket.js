/* The staff ticket page: a response template, or a Q&A article's answer ("Dùng bài này"), goes into the
   message at the cursor, keeping what the operator already typed. Without this script the template buttons post the reply form and the
   page comes back with the typed text and the template after it (nothing is sent). */
(function () {
  "use strict";
  var boxes = ["reply-text", "answer"].map(function (id) { return document.getElementById(id); })
    .filter(function (box) { return box; });
  if (!boxes.length) { return; }
  var last = boxes[0], touched = false;
  boxes.forEach(function (box) {
    box.addEventListener("focus", function () { last = box; touched = true; });
  });

  function insert(box, text) {
    var value = box.value;
    var start = touched && typeof box.selectionStart === "number" ? box.selectionStart : value.length;
    var end = touched && typeof box.selectionEnd === "number" ? box.selectionEnd : value.length;
    var before = value.slice(0, start);
    if (before && !/\s$/.test(before)) { text = (start === value.length ? "\n\n" : " ") + text; }
    box.value = before + text + value.slice(end);
    var caret = start + text.length;
    box.focus();
    box.setSelectionRange(caret, caret);
  }

  document.addEventListener("click", function (event) {
    var button = event.target && event.target.closest ? event.target.closest("button.template-insert, button.kb-insert") : null;
    if (!button) { return; }
    event.preventDefault();
    insert(last, button.getAttribute("data-text") || "");
    // "Dùng bài này": the form whose box received the answer records which article (and version) answered
    var used = button.getAttribute("data-kb");
    var form = last.form;
    var field = used && form ? form.querySelector("input.kb-article") : null;
    if (field) { field.value = used; }
  });
})();

/* The merge form's candidates: "Chọn để gộp" puts the candidate's code in the form (and opens it) without
   reloading the page. Without this script the link opens the page again with the form filled. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var pick = event.target && event.target.closest ? event.target.closest("a.merge-pick") : null;
    var box = document.getElementById("merge-into");
    if (!pick || !box) { return; }
    event.preventDefault();
    box.value = pick.getAttribute("data-merge-code") || "";
    box.focus();
  });
})();
