// Light enhancement of the explorer's GET forms: fields left empty are not sent, so the
// address of a search holds only the filters that are set. Without JavaScript the form
// works the same (empty fields mean "no filter").
"use strict";
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!(form instanceof HTMLFormElement) || form.method.toLowerCase() !== "get") {
    return;
  }
  Array.prototype.forEach.call(form.elements, function (el) {
    if ((el.tagName === "INPUT" || el.tagName === "SELECT") && el.name && el.value === "") {
      el.disabled = true;
      window.setTimeout(function () { el.disabled = false; }, 0);
    }
  });
});
