// osect console: small enhancements only; every page works without them.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Filters apply as soon as a choice changes.
  document.querySelectorAll("form.filters select").forEach(function (sel) {
    sel.addEventListener("change", function () { sel.form.submit(); });
  });
});
document.addEventListener("DOMContentLoaded", function () {
  var print = document.getElementById("print");
  if (print) { print.addEventListener("click", function () { window.print(); }); }
});
