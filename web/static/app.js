// daiban web console: optional helpers. Every form works without them.
(function () {
  "use strict";
  var weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  var checks = "10X98765432";

  // idProblem mirrors the server's check (GB 11643); the server decides.
  function idProblem(v) {
    v = v.trim().toUpperCase();
    if (v.length !== 18) return "身份证号码应为18位。";
    if (!/^[0-9]{17}[0-9X]$/.test(v)) return "身份证号码前17位应为数字，最后一位为数字或X。";
    var sum = 0;
    for (var i = 0; i < 17; i++) sum += (v.charCodeAt(i) - 48) * weights[i];
    if (v[17] !== checks[sum % 11]) return "身份证号码校验位不符，请逐位核对。";
    return "";
  }

  function showError(form, name, msg) {
    var slot = form.querySelector('[data-err-for="' + name + '"]');
    if (!slot) return;
    slot.innerHTML = "";
    if (msg) {
      var s = document.createElement("span");
      s.className = "err";
      s.setAttribute("role", "alert");
      s.textContent = msg;
      slot.appendChild(s);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var forms = document.querySelectorAll("form[data-idcheck]");
    Array.prototype.forEach.call(forms, function (form) {
      var input = form.querySelector('input[name="id_number"]');
      if (!input) return;
      input.addEventListener("blur", function () {
        if (input.value.trim() !== "") showError(form, "id_number", idProblem(input.value));
      });
      form.addEventListener("submit", function (ev) {
        if (form.noValidate) return;
        var msg = idProblem(input.value);
        showError(form, "id_number", msg);
        if (msg) {
          ev.preventDefault();
          input.focus();
        }
      });
    });
    // Forms are disabled after the first submit so a double click sends one.
    Array.prototype.forEach.call(document.querySelectorAll("form[method=post]"), function (form) {
      form.addEventListener("submit", function (ev) {
        if (ev.defaultPrevented) return;
        var b = form.querySelector("button[type=submit]");
        if (b) setTimeout(function () { b.disabled = true; }, 0);
      });
    });
    // The catalogue filters as the agent types; without script the search
    // button asks the server.
    Array.prototype.forEach.call(document.querySelectorAll("input[data-filter]"), function (input) {
      var rows = document.querySelectorAll(input.getAttribute("data-filter"));
      input.addEventListener("input", function () {
        var q = input.value.trim();
        Array.prototype.forEach.call(rows, function (li) {
          li.hidden = q !== "" && li.textContent.indexOf(q) < 0;
        });
        Array.prototype.forEach.call(document.querySelectorAll("[data-group]"), function (g) {
          g.hidden = g.querySelectorAll("li:not([hidden])").length === 0;
        });
      });
    });
    window.addEventListener("pageshow", function () {
      Array.prototype.forEach.call(document.querySelectorAll("button[disabled]"), function (b) { b.disabled = false; });
    });
    // A scope chooser shows its list as soon as a choice is made; the
    // button beside it does the same without script.
    Array.prototype.forEach.call(document.querySelectorAll("select[data-autosubmit]"), function (sel) {
      sel.addEventListener("change", function () { sel.form.submit(); });
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (b) {
      b.addEventListener("click", function () { window.print(); });
    });
  });
})();
// The intake form records where the inspector stands, if the browser can.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var b = document.querySelector("[data-geolocate]");
    if (!b || !navigator.geolocation) return;
    var form = b.form, status = form.querySelector("[data-geo-status]");
    b.hidden = false;
    b.addEventListener("click", function () {
      status.textContent = "正在定位……";
      navigator.geolocation.getCurrentPosition(function (pos) {
        form.querySelector("#lat").value = pos.coords.latitude.toFixed(6);
        form.querySelector("#lng").value = pos.coords.longitude.toFixed(6);
        status.textContent = "已记录位置（" + pos.coords.latitude.toFixed(5) + "，" + pos.coords.longitude.toFixed(5) + "）";
      }, function () {
        status.textContent = "无法取得位置，可以不填。";
      }, { enableHighAccuracy: true, timeout: 10000 });
    });
  });
})();
