/* tokenworks dashboard: submit runs to the JSON API, show errors next to their fields, watch
   long runs (progress, cancel), insert the finished run's report and list the runs.
   Plain JavaScript, no build step; charts are drawn by report.js (shared with the reports). */
(function () {
  "use strict";
  var current = null;   // id of the run shown in the panel
  var timer = null;
  var kinds = {};       // run kind -> {inputs: [names]} (GET /api/kinds)

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $$(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function api(method, url, body) {
    var opts = { method: method, headers: {}, credentials: "same-origin" };
    if (body instanceof FormData) { opts.body = body; }
    else if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(url, opts).then(function (r) {
      return r.text().then(function (t) {
        var data = null;
        try { data = t ? JSON.parse(t) : null; } catch (e) { data = { detail: t }; }
        return { ok: r.ok, status: r.status, data: data };
      });
    });
  }

  /* ---------------------------------------------------------------- tabs */
  function showTab(name) {
    $$(".tab").forEach(function (b) { b.classList.toggle("active", b.dataset.tab === name); });
    $$(".tab-panel").forEach(function (p) { p.hidden = p.dataset.panel !== name; });
  }

  /* ---------------------------------------------------------------- errors */
  function clearErrors(form) {
    $$(".field-error", form).forEach(function (e) { e.textContent = ""; });
    $$(".field", form).forEach(function (f) { f.classList.remove("has-error"); });
    var top = $(".form-error", form);
    if (top) top.textContent = "";
  }

  function showErrors(form, res) {
    var errors = (res.data && res.data.errors) || [];
    if (!errors.length) errors = [{ field: null, message: (res.data && res.data.detail) || ("HTTP " + res.status) }];
    errors.forEach(function (err) {
      var slot = err.field ? $('[data-error-for="' + err.field + '"]', form) : null;
      // An input typed under "more inputs" has no field of its own: show it there.
      if (!slot && err.field) slot = $('[data-error-for="more"]', form);
      if (slot) {
        slot.textContent = err.message;
        slot.parentNode.classList.add("has-error");
      } else {
        var top = $(".form-error", form);
        top.textContent = (top.textContent ? top.textContent + " " : "") + err.message;
      }
    });
  }

  /* ---------------------------------------------------------------- inputs */
  function parseValue(v) {
    v = v.trim();
    try { return JSON.parse(v); } catch (e) { return v; }
  }

  function formInputs(form) {
    var kind = form.dataset.kind, inputs = {};
    $$("input[name], select[name], textarea[name]", form).forEach(function (el) {
      var v = (el.value || "").trim();
      if (v !== "") inputs[el.name] = v;
    });
    if (kind === "economics") {
      kind = inputs.question; delete inputs.question;
      // The form's fixed fields go only to questions that take them (capital has no
      // accelerator); what is typed under "more inputs" is sent as written.
      var accepted = (kinds[kind] || {}).inputs;
      if (accepted) Object.keys(inputs).forEach(function (k) {
        if (k !== "more" && accepted.indexOf(k) < 0) delete inputs[k];
      });
      if (inputs.more) {
        inputs.more.split(/\n/).forEach(function (line) {
          var i = line.indexOf("=");
          if (i > 0) inputs[line.slice(0, i).trim()] = parseValue(line.slice(i + 1));
        });
        delete inputs.more;
      }
    }
    if (kind === "plan") {
      if (inputs.spec_file) return { kind: kind, inputs: { spec_file: inputs.spec_file } };
      if (inputs.spec) return { kind: kind, inputs: { spec: inputs.spec } };
      if (inputs.plan_file) return { kind: kind, inputs: { result_file: inputs.plan_file } };
      try { inputs = { result: JSON.parse(inputs.result || "") }; }
      catch (e) { return { kind: kind, error: { field: "result", message: "plan data is not valid JSON: " + e.message } }; }
    }
    return { kind: kind, inputs: inputs };
  }

  function submitRun(form) {
    clearErrors(form);
    var req = formInputs(form);
    if (req.error) { showErrors(form, { data: { errors: [req.error] } }); return; }
    api("POST", "/api/runs", { kind: req.kind, inputs: req.inputs }).then(function (res) {
      if (!res.ok) { showErrors(form, res); return; }
      watch(res.data.id);
      loadRuns();
    });
  }

  /* ---------------------------------------------------------------- the current run */
  function watch(id) {
    current = id;
    if (timer) clearTimeout(timer);
    poll();
  }

  function poll() {
    var id = current;
    api("GET", "/api/runs/" + id).then(function (res) {
      if (id !== current || !res.ok) return;
      var run = res.data, head = $("#run-head");
      if (run.status === "queued" || run.status === "running") {
        head.hidden = false;
        var p = run.progress, pct = p && p.expected ? Math.round(100 * p.done / p.expected) : 0;
        head.innerHTML = "<h2>" + esc(run.kind) + " · " + esc(run.status) + "</h2>" +
          '<progress id="run-progress" max="100" value="' + pct + '"></progress> ' +
          '<span class="progress-text">' + (p ? p.done + " of " + p.expected + " requests" : "waiting") + "</span> " +
          '<button type="button" id="cancel-btn">Cancel</button>';
        $("#cancel-btn").addEventListener("click", function () {
          api("POST", "/api/runs/" + id + "/cancel").then(loadRuns);
        });
        $("#run-body").innerHTML = "";
        timer = setTimeout(poll, 400);
        return;
      }
      head.innerHTML = "";
      head.hidden = true;
      fetch("/runs/" + id + "/fragment").then(function (r) { return r.text(); }).then(function (html) {
        if (id !== current) return;
        var body = $("#run-body");
        body.innerHTML = html;
        window.twReport.render(body);
        loadRuns();
      });
    });
  }

  /* ---------------------------------------------------------------- runs list */
  function short(obj) {
    if (!obj) return "";
    return Object.keys(obj).slice(0, 6).map(function (k) {
      var v = obj[k];
      if (typeof v === "number") v = Math.abs(v) >= 1000 || Number.isInteger(v) ? v.toLocaleString() : v.toPrecision(4);
      else if (v !== null && typeof v === "object") v = "{…}";
      return k + "=" + v;
    }).join(", ");
  }

  function loadRuns() {
    var all = $("#runs-all").checked ? "?all=true" : "";
    api("GET", "/api/runs" + all).then(function (res) {
      if (!res.ok) return;
      var rows = res.data.map(function (r) {
        return '<tr data-run="' + r.id + '"><td><input type="checkbox" class="pick" value="' + r.id + '"></td>' +
          "<td>" + esc(r.created_at.replace("T", " ").slice(0, 19)) + "</td><td>" + esc(r.kind) +
          '</td><td class="status-' + esc(r.status) + '">' + esc(r.status) + "</td><td>" + esc(short(r.inputs)) +
          "</td><td>" + esc(r.error || short(r.summary)) + '</td></tr>';
      });
      $("#runs-table tbody").innerHTML = rows.join("");
      $$("#runs-table tbody tr").forEach(function (tr) {
        tr.addEventListener("click", function (ev) {
          if (ev.target.classList.contains("pick")) return;
          watch(tr.dataset.run);
        });
      });
    });
  }

  /* ---------------------------------------------------------------- uploads */
  function loadUploads() {
    api("GET", "/api/uploads").then(function (res) {
      if (!res.ok) return;
      var names = res.data;
      $("#upload-list").innerHTML = names.map(function (n) { return "<li>" + esc(n) + "</li>"; }).join("");
      [["scenario_file", /\.(ya?ml|toml)$/i], ["plan_file", /\.json$/i],
       ["spec_file", /\.(ya?ml|toml|json)$/i],
       ["trace_file", /\.(csv|jsonl)$/i], ["calibration", /\.toml$/i]].forEach(function (pair) {
        var sel = $('select[name="' + pair[0] + '"]');
        if (!sel) return;
        var keep = sel.value;
        sel.innerHTML = '<option value="">—</option>' + names.filter(function (n) { return pair[1].test(n); })
          .map(function (n) { return '<option value="' + esc(n) + '">' + esc(n) + "</option>"; }).join("");
        sel.value = keep;
      });
      $$('select[name="model"]').forEach(function (sel) {
        names.filter(function (n) { return /\.json$/i.test(n); }).forEach(function (n) {
          var v = "upload:" + n;
          if (!$('option[value="' + v + '"]', sel)) sel.insertAdjacentHTML("beforeend", '<option value="' + esc(v) + '">' + esc(v) + "</option>");
        });
      });
    });
  }

  function upload(form) {
    clearErrors(form);
    var file = $("#f-file").files[0];
    if (!file) { showErrors(form, { data: { errors: [{ field: "file", message: "choose a file to upload." }] } }); return; }
    var fd = new FormData();
    fd.append("file", file);
    api("POST", "/api/uploads?kind=" + encodeURIComponent($("#f-upload_kind").value), fd).then(function (res) {
      if (!res.ok) { showErrors(form, res); return; }
      $("#upload-status").textContent = "uploaded " + res.data.name + ": " + res.data.describes + " (use as " + res.data.use_as + ")";
      loadUploads();
    });
  }

  /* ---------------------------------------------------------------- start */
  document.addEventListener("DOMContentLoaded", function () {
    if (!$("#runs-table")) return;   // a run or compare page: report.js draws it
    $$(".tab").forEach(function (b) { b.addEventListener("click", function () { showTab(b.dataset.tab); }); });
    showTab("estimate");
    $$("form.run-form[data-kind]").forEach(function (f) {
      f.addEventListener("submit", function (ev) { ev.preventDefault(); submitRun(f); });
    });
    $("#upload-form").addEventListener("submit", function (ev) { ev.preventDefault(); upload($("#upload-form")); });
    $("#runs-all").addEventListener("change", loadRuns);
    $("#compare-btn").addEventListener("click", function () {
      var ids = $$(".pick").filter(function (c) { return c.checked; }).map(function (c) { return c.value; });
      if (ids.length >= 2) window.location.href = "/compare?ids=" + ids.join(",");
    });
    api("GET", "/api/kinds").then(function (res) { if (res.ok) kinds = res.data; });
    loadRuns();
    loadUploads();
  });
})();
