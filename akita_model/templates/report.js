(function () {
  "use strict";

  // Rows carry their filter values in data attributes; nothing here is built
  // from the document's text.
  var table = document.getElementById("endpoints");
  var rows = Array.prototype.map.call(
    table.querySelectorAll("tbody.endpoint"),
    function (body) {
      return {
        body: body,
        method: body.getAttribute("data-method"),
        auth: JSON.parse(body.getAttribute("data-auth")),
        statuses: JSON.parse(body.getAttribute("data-statuses"))
      };
    }
  );
  var method = document.getElementById("filter-method");
  var auth = document.getElementById("filter-auth");
  var status = document.getElementById("filter-status");
  var shown = document.getElementById("shown-count");
  var noMatch = document.getElementById("no-match");

  function matches(row) {
    if (method.value && row.method !== method.value) {
      return false;
    }
    if (auth.value && row.auth.indexOf(auth.value) < 0) {
      return false;
    }
    if (status.value && row.statuses.indexOf(status.value) < 0) {
      return false;
    }
    return true;
  }

  function applyFilters() {
    var count = 0;
    rows.forEach(function (row) {
      var isShown = matches(row);
      row.body.hidden = !isShown;
      if (isShown) {
        count += 1;
      }
    });
    shown.textContent = count + " of " + rows.length + " endpoints";
    noMatch.hidden = rows.length > 0 && count > 0;
  }

  [method, auth, status].forEach(function (select) {
    select.addEventListener("change", applyFilters);
  });

  document.getElementById("filter-reset").addEventListener("click", function () {
    method.value = "";
    auth.value = "";
    status.value = "";
    applyFilters();
  });

  table.addEventListener("click", function (event) {
    var toggle = event.target.closest("button.toggle");
    if (!toggle) {
      return;
    }
    var details = document.getElementById(toggle.getAttribute("aria-controls"));
    var isOpen = toggle.getAttribute("aria-expanded") === "true";
    toggle.setAttribute("aria-expanded", isOpen ? "false" : "true");
    details.hidden = isOpen;
  });

  applyFilters();
})();
