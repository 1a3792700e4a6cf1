// The registration form: show the in-person questions (needs, the waiting-list choice) only while
// "In person" is chosen. Without JavaScript everything stays visible and the server ignores what does not apply.
(function () {
  "use strict";

  function update(form) {
    var chosen = form.querySelector('input[name="mode"]:checked');
    var inPerson = !chosen || chosen.value === "in_person";
    form.querySelectorAll("[data-in-person-only], [data-when-full]").forEach(function (section) {
      section.hidden = !inPerson;
      section.style.display = inPerson ? "" : "none"; // fieldsets are display:grid, which [hidden] alone loses to
    });
  }

  function init() {
    document.querySelectorAll("form[data-registration-form]").forEach(function (form) {
      form.querySelectorAll('input[name="mode"]').forEach(function (radio) {
        radio.addEventListener("change", function () { update(form); });
      });
      update(form);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
