// The few things a page does in the browser; every page works without them.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Copy buttons: <button class="copy" data-copy="ID" hidden> copies the text of #ID (shown only where it can).
  document.querySelectorAll("button.copy[data-copy]").forEach(function (button) {
    if (!navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var source = document.getElementById(button.dataset.copy);
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        var label = button.textContent;
        button.textContent = button.dataset.copied || label;
        setTimeout(function () { button.textContent = label; }, 2000);
      });
    });
  });
  // Forms with data-confirm ask before they are sent (the server asks again when the box was not ticked).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });
});
