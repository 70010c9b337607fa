/* Offline visit capture (docs/FIELDWORK.md), on two pages:
 * - 选择走访家庭 (#pick-form): the chosen households' pack is fetched and kept on the phone;
 * - 今日走访（离线包） (#offline-app): visit forms drawn from the pack's field list, a queue of
 *   visits waiting to be sent, each with a key made here (crypto.randomUUID), sent one at a
 *   time when the phone is online (page load, the `online` event, the 立即同步 button).
 * Storage is static/js/pwa.js's (window.HuoqiuOffline). */
(function () {
  "use strict";

  var offline = window.HuoqiuOffline;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === true) { node.setAttribute(name, ""); } else if (value !== false && value !== null && value !== undefined) { node.setAttribute(name, String(value)); }
    });
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function localDate(d) { return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()); }
  function localTime(ms) {
    var d = new Date(ms);
    return localDate(d) + " " + pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  // --- 选择走访家庭 -------------------------------------------------------------------------

  function setUpPicker(form) {
    var max = parseInt(form.getAttribute("data-pack-max"), 10) || 50;
    var count = document.getElementById("pick-count");
    var error = document.getElementById("pick-error");
    var boxes = form.querySelectorAll("input[name=household]");

    function checked() { return form.querySelectorAll("input[name=household]:checked").length; }
    function update() {
      var n = checked();
      count.textContent = "已选 " + n + " 户（最多" + max + "户）";
      Array.prototype.forEach.call(boxes, function (box) { box.disabled = !box.checked && n >= max; });
    }
    function fail(message) { error.textContent = message; error.hidden = false; }

    Array.prototype.forEach.call(boxes, function (box) { box.addEventListener("change", update); });
    update();
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      error.hidden = true;
      if (!checked()) { fail("请至少选择一户"); return; }
      if (!offline) { fail("此浏览器不支持离线存储，请换用手机自带浏览器或 Chrome"); return; }
      fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" })
        .then(function (response) {
          return response.json().catch(function () { return { error: "下载离线包失败（" + response.status + "），请刷新页面后重试" }; });
        })
        .then(function (pack) {
          if (pack.error) { throw new Error(pack.error); }
          return offline.store.savePack(pack);
        })
        .then(function () { window.location.href = form.getAttribute("data-next"); })
        .catch(function (err) { fail(err && err.message ? err.message : "下载离线包失败，请检查网络后重试"); });
    });
  }

  // --- 今日走访（离线包） ---------------------------------------------------------------------

  function setUpApp(root) {
    var state = { pack: null, queue: [], editing: null, syncing: false, token: null };
    var netState = root.querySelector("[data-testid=net-state]");
    var queueCount = root.querySelector("[data-testid=queue-count]");
    var refusedCount = root.querySelector("[data-testid=refused-count]");
    var result = root.querySelector("[data-testid=sync-result]");
    var packInfo = root.querySelector("[data-testid=pack-info]");
    var formCard = document.getElementById("offline-form-card");
    var form = document.getElementById("offline-form");
    var formErrors = document.getElementById("offline-form-errors");
    var keepHours = parseInt(root.getAttribute("data-keep-hours"), 10) || 24;

    function say(text, kind) {
      result.textContent = text;
      result.className = "sync-result" + (kind ? " sync-" + kind : "");
      result.hidden = !text;
    }

    function household(id) {
      var found = null;
      ((state.pack && state.pack.households) || []).forEach(function (h) { if (h.id === id) { found = h; } });
      return found;
    }

    function renderBanner() {
      var online = navigator.onLine;
      netState.textContent = online ? "在线" : "离线";
      root.classList.toggle("is-offline", !online);
      var waiting = state.queue.filter(function (item) { return item.state !== "refused"; }).length;
      var refused = state.queue.length - waiting;
      queueCount.textContent = waiting + " 条待同步";
      refusedCount.hidden = !refused;
      refusedCount.textContent = refused ? refused + " 条被退回" : "";
    }

    function renderPackInfo() {
      if (!state.pack) {
        packInfo.textContent = "手机上没有离线包。";
        return;
      }
      packInfo.textContent = "离线包共 " + state.pack.households.length + " 户，保存于 " + localTime(state.pack.saved_at) +
        "，将于 " + localTime(state.pack.saved_at + keepHours * 3600 * 1000) + " 自动删除。";
    }

    function renderHouseholds() {
      var list = document.getElementById("household-list");
      list.textContent = "";
      var rows = (state.pack && state.pack.households) || [];
      document.getElementById("households-empty").hidden = rows.length > 0;
      rows.forEach(function (h) {
        var item = el("li", { "class": "household-card", "data-household": h.id });
        var head = el("div", { "class": "household-head" });
        head.appendChild(el("strong", null, h.head_name + "户"));
        head.appendChild(el("span", { "class": "muted" }, " " + h.village + " · " + h.head_id_number));
        item.appendChild(head);
        if (h.members.length) {
          item.appendChild(el("p", { "class": "muted small" }, "成员：" + h.members.map(function (m) {
            return m.name + (m.relation ? "（" + m.relation + "）" : "");
          }).join("、")));
        }
        var button = el("button", { type: "button", "class": "button primary", "data-testid": "capture-" + h.id }, "登记走访");
        button.addEventListener("click", function () { openForm(h, null); });
        item.appendChild(button);
        list.appendChild(item);
      });
    }

    function renderQueue() {
      var list = document.getElementById("queue-list");
      list.textContent = "";
      document.getElementById("queue-empty").hidden = state.queue.length > 0;
      state.queue.forEach(function (item) {
        var li = el("li", { "class": "queue-item" + (item.state === "refused" ? " is-refused" : ""), "data-testid": "queued-visit", "data-key": item.key });
        li.appendChild(el("strong", null, item.household_label));
        li.appendChild(el("span", { "class": "muted" }, " 走访日期 " + (item.fields.visited_on || "") + " · 保存于 " + localTime(item.saved_at)));
        if (item.state === "refused") {
          li.appendChild(el("p", { "class": "badge badge-rejected" }, "被退回"));
          var reasons = el("ul", { "class": "refusal", "data-testid": "refusal" });
          Object.keys(item.errors || {}).forEach(function (name) {
            (item.errors[name] || []).forEach(function (message) {
              reasons.appendChild(el("li", null, (fieldLabel(name) ? fieldLabel(name) + "：" : "") + message));
            });
          });
          li.appendChild(reasons);
        } else {
          li.appendChild(el("span", { "class": "badge badge-open" }, "待同步"));
        }
        var actions = el("div", { "class": "queue-actions" });
        var edit = el("button", { type: "button", "class": "button" }, "修改");
        edit.addEventListener("click", function () {
          var h = household(item.household) || { id: item.household, head_name: item.household_label.replace(/户$/, ""), village: "", members: [] };
          openForm(h, item);
        });
        var discard = el("button", { type: "button", "class": "button", "data-testid": "discard" }, "放弃");
        discard.addEventListener("click", function () {
          if (discard.getAttribute("data-armed") !== "1") {
            discard.setAttribute("data-armed", "1");
            discard.textContent = "确认放弃（删除这条走访）";
            return;
          }
          offline.store.deleteVisit(item.key).then(refresh);
        });
        actions.appendChild(edit);
        actions.appendChild(discard);
        li.appendChild(actions);
        list.appendChild(li);
      });
    }

    function fieldLabel(name) {
      var label = "";
      ((state.pack && state.pack.form.fields) || []).forEach(function (f) { if (f.name === name) { label = f.label; } });
      return label;
    }

    // --- the form, drawn from the pack's field list (staff/views/offline.py form_fields) ---

    function inputFor(field, value, h) {
      var id = "off-" + field.name;
      var attrs = field.attrs || {};
      var choices = field.choices || [];
      if (field.name === "person") {
        choices = choices.concat(h.members.map(function (m) { return [String(m.id), m.name]; }));
      }
      if (field.kind === "radio") {
        var set = el("fieldset", { "class": "choices" });
        set.appendChild(el("legend", null, field.label));
        var wrap = el("div");
        choices.forEach(function (choice, index) {
          var label = el("label", { "for": id + "-" + index });
          var input = el("input", { type: "radio", name: field.name, id: id + "-" + index, value: choice[0] });
          if (String(value) === choice[0]) { input.checked = true; }
          label.appendChild(input);
          label.appendChild(document.createTextNode(" " + choice[1]));
          wrap.appendChild(label);
        });
        set.appendChild(wrap);
        return set;
      }
      if (field.kind === "hidden") {
        var hidden = el("input", { type: "hidden", name: field.name, id: id });
        hidden.value = value === undefined || value === null ? "" : value;
        return hidden;
      }
      var box = document.createDocumentFragment();
      var label = el("label", { "for": id }, field.label);
      if (field.required) { label.appendChild(el("span", { "class": "required", "aria-hidden": "true" }, "*")); }
      box.appendChild(label);
      var input;
      if (field.kind === "select") {
        input = el("select", { name: field.name, id: id });
        choices.forEach(function (choice) {
          var option = el("option", { value: choice[0] }, choice[1]);
          if (String(value) === choice[0]) { option.selected = true; }
          input.appendChild(option);
        });
      } else if (field.kind === "textarea") {
        input = el("textarea", { name: field.name, id: id, rows: attrs.rows || 3, maxlength: attrs.maxlength });
        input.value = value || "";
      } else if (field.kind === "checkbox") {
        input = el("input", { type: "checkbox", name: field.name, id: id });
        input.checked = value === true || value === "on";
      } else {
        var type = ["date", "number", "email", "tel"].indexOf(field.kind) >= 0 ? field.kind : "text";
        input = el("input", { type: type, name: field.name, id: id, min: attrs.min, max: attrs.max, step: attrs.step, inputmode: attrs.inputmode, maxlength: attrs.maxlength });
        input.value = value === undefined || value === null ? "" : value;
      }
      if (field.disabled || attrs.readonly) { input.readOnly = true; }
      box.appendChild(input);
      return box;
    }

    function openForm(h, item) {
      state.editing = { household: h, item: item };
      var values = item ? item.fields : Object.assign({ visited_on: localDate(new Date()) }, state.pack.defaults || {});
      var errors = (item && item.errors) || {};
      form.textContent = "";
      formErrors.hidden = true;
      document.getElementById("offline-form-title").textContent = item ? "修改走访" : "登记走访";
      document.getElementById("offline-form-household").textContent = h.head_name + "户" + (h.village ? " · " + h.village : "");
      var groups = {};
      ((state.pack && state.pack.form.fields) || []).forEach(function (field) {
        var holder = el("div", { "class": "field" + (errors[field.name] ? " has-error" : ""), "data-field": field.name });
        holder.appendChild(inputFor(field, values[field.name], h));
        if (field.help) { holder.appendChild(el("p", { "class": "help muted small" }, field.help)); }
        (errors[field.name] || []).forEach(function (message) {
          holder.appendChild(el("p", { "class": "field-error", role: "alert" }, message));
        });
        var parent = form;
        if (field.group) {
          if (!groups[field.group]) {
            groups[field.group] = el("fieldset", { "class": field.group.indexOf("两不愁") === 0 ? "checklist" : "money" });
            groups[field.group].appendChild(el("legend", null, field.group));
            form.appendChild(groups[field.group]);
          }
          parent = groups[field.group];
        }
        parent.appendChild(holder);
      });
      var general = errors.__all__ || [];
      if (general.length) {
        formErrors.textContent = general.join("；");
        formErrors.hidden = false;
      }
      var actions = el("div", { "class": "form-actions" });
      actions.appendChild(el("button", { type: "submit", "class": "button primary", "data-testid": "offline-save" }, "保存到手机"));
      var cancel = el("button", { type: "button", "class": "button" }, "取消");
      cancel.addEventListener("click", closeForm);
      actions.appendChild(cancel);
      form.appendChild(actions);
      formCard.hidden = false;
      formCard.scrollIntoView({ block: "start" });
    }

    function closeForm() {
      state.editing = null;
      form.textContent = "";
      formCard.hidden = true;
    }

    function formValues() {
      var values = {};
      ((state.pack && state.pack.form.fields) || []).forEach(function (field) {
        var inputs = form.querySelectorAll("[name='" + field.name + "']");
        if (field.kind === "radio") {
          values[field.name] = "";
          Array.prototype.forEach.call(inputs, function (input) { if (input.checked) { values[field.name] = input.value; } });
        } else if (field.kind === "checkbox") {
          values[field.name] = inputs.length && inputs[0].checked ? "on" : "";
        } else if (inputs.length) {
          values[field.name] = inputs[0].value;
        }
      });
      return values;
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!state.editing) { return; }
      var values = formValues();
      var missing = ((state.pack && state.pack.form.fields) || []).filter(function (field) {
        return field.required && !field.disabled && !values[field.name];
      }).map(function (field) { return "请填写" + field.label; });
      if (missing.length) {
        formErrors.textContent = missing.join("；");
        formErrors.hidden = false;
        return;
      }
      var h = state.editing.household;
      var earlier = state.editing.item;
      // A refused visit keeps its key: the server never recorded it.
      var item = {
        key: earlier ? earlier.key : newKey(),
        user: offline.user,
        household: h.id,
        household_label: h.head_name + "户",
        fields: values,
        saved_at: earlier ? earlier.saved_at : Date.now(),
        state: "pending",
        errors: {}
      };
      offline.store.putVisit(item).then(function () {
        closeForm();
        say("已保存到手机：" + item.household_label + "。" + (navigator.onLine ? "" : "联网后会自动同步。"), "ok");
        return refresh();
      }).then(function () { if (navigator.onLine) { sync(); } });
    });

    // --- syncing ---

    function freshToken() {
      return fetch(root.getAttribute("data-csrf-url"), { credentials: "same-origin", cache: "no-store" })
        .then(function (response) {
          if (response.status === 401) { throw { login: true }; }
          return response.json();
        })
        .then(function (data) {
          if (!data.csrf_token) { throw { login: true }; }
          state.token = data.csrf_token;
          return state.token;
        });
    }

    function send(item, token) {
      return fetch(root.getAttribute("data-sync-url"), {
        method: "POST",
        credentials: "same-origin",
        cache: "no-store",
        headers: { "Content-Type": "application/json", "X-CSRFToken": token },
        body: JSON.stringify({ key: item.key, household: item.household, fields: item.fields })
      }).then(function (response) {
        return response.json().then(function (data) { return { http: response.status, data: data }; },
          function () { return { http: response.status, data: null }; });
      });
    }

    // One visit: a 403 that is not the endpoint's own JSON is the CSRF check; a new token once.
    function postVisit(item) {
      var token = state.token ? Promise.resolve(state.token) : freshToken();
      return token.then(function (t) { return send(item, t); }).then(function (answer) {
        if (answer.http === 403 && !(answer.data && answer.data.status)) {
          return freshToken().then(function (t) { return send(item, t); });
        }
        return answer;
      });
    }

    function sync() {
      if (state.syncing || !navigator.onLine) { renderBanner(); return Promise.resolve(); }
      var pending = state.queue.filter(function (item) { return item.state !== "refused"; });
      if (!pending.length) { return Promise.resolve(); }
      state.syncing = true;
      var saved = 0;
      var refused = 0;
      var stop = null;
      say("正在同步……", "");
      var chain = freshToken();
      pending.forEach(function (item) {
        chain = chain.then(function () {
          if (stop) { return null; }
          return postVisit(item).then(function (answer) {
            var status = answer.data && answer.data.status;
            if (status === "saved" || status === "duplicate") {
              saved += 1;
              return offline.store.deleteVisit(item.key);
            }
            if (status === "refused") {
              refused += 1;
              item.state = "refused";
              item.errors = answer.data.errors || {};
              return offline.store.putVisit(item);
            }
            if (answer.http === 401 || status === "login") { stop = "login"; return null; }
            stop = "error";
            return null;
          });
        });
      });
      return chain.catch(function (err) {
        stop = err && err.login ? "login" : "network";
      }).then(function () {
        state.syncing = false;
        var parts = [];
        if (saved) { parts.push("已同步 " + saved + " 条走访"); }
        if (refused) { parts.push(refused + " 条被退回，请查看原因后修改或放弃"); }
        if (stop === "login") { parts.push("登录已过期，请重新登录后再同步（走访仍保存在手机上）"); }
        if (stop === "network" || stop === "error") { parts.push("同步中断，未同步的走访仍保存在手机上，稍后会再试"); }
        say(parts.join("；"), stop || refused ? "warn" : "ok");
        if (stop === "login") {
          var link = el("a", { href: root.getAttribute("data-login-url") }, "重新登录");
          result.appendChild(document.createTextNode(" "));
          result.appendChild(link);
        }
        return refresh();
      });
    }

    function refresh() {
      return Promise.all([offline.store.getPack(), offline.store.listQueue()]).then(function (found) {
        state.pack = found[0] || null;
        state.queue = found[1] || [];
        renderBanner();
        renderPackInfo();
        renderHouseholds();
        renderQueue();
      });
    }

    window.addEventListener("online", function () { renderBanner(); sync(); });
    window.addEventListener("offline", renderBanner);
    document.getElementById("sync-now").addEventListener("click", function () {
      if (!navigator.onLine) { say("当前离线，联网后再同步", "warn"); return; }
      sync();
    });

    // For the browser tests: the same visit sent twice, as a phone whose answer was lost would.
    window.HuoqiuOfflineApp = { sync: sync, postVisit: postVisit, refresh: refresh };

    offline.ready.then(refresh).then(function () {
      root.setAttribute("data-ready", "1");
      return sync();
    }).catch(function () {
      say("无法读取手机上的离线数据：请确认浏览器未处于无痕模式", "warn");
    });
  }

  function start() {
    var picker = document.getElementById("pick-form");
    if (picker) { setUpPicker(picker); }
    var app = document.getElementById("offline-app");
    if (app) {
      if (!offline) {
        app.querySelector("[data-testid=pack-info]").textContent = "此浏览器不支持离线存储，请换用手机自带浏览器或 Chrome。";
        return;
      }
      setUpApp(app);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
