// The Door: a volunteer picks one of today's sessions and scans passes with Telegram's QR
// popup. Every scan gets an id made here and waits in this device's storage until the server
// has answered it, so scans made offline are sent when the network returns and a batch sent
// twice (an answer lost on the way) is counted once: the server knows the ids it has seen.
(function () {
  "use strict";
  var app = window.LearnCity;
  var words = app.words;
  var tg = app.tg;
  var QUEUE_KEY = "learncity.door.queue";
  var SESSION_KEY = "door_session";
  var BATCH = 50;
  var RETRY_MS = 4000;
  var REPEAT_MS = 2500;
  var SYMBOLS = { checked_in: "✅", walk_in: "🚶", already: "☑️", unknown: "❓", malformed: "❓" };
  var HAPTICS = { checked_in: "success", walk_in: "success", already: "warning", unknown: "error",
    malformed: "error" };

  var current = null;  // the session being checked in to
  var sending = false;
  var expired = false;
  var lastText = "", lastAt = 0;
  var $ = function (id) { return document.getElementById(id); };

  // -- the queue in device storage

  function queue() {
    try {
      return JSON.parse(localStorage.getItem(QUEUE_KEY) || "[]");
    } catch (e) {
      return [];
    }
  }
  function saveQueue(items) {
    localStorage.setItem(QUEUE_KEY, JSON.stringify(items));
    showQueue();
  }
  function showQueue() {
    var waiting = queue().length;
    var line = $("queue");
    line.hidden = !waiting;
    line.textContent = waiting ? (expired ? words.expired + " " : "") +
      words.waiting_to_send.replace("%(num)s", waiting) : "";
  }
  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // -- the log of answers, newest first

  function shown(code) {
    var pass = /pass_([A-Za-z0-9]+)/.exec(code);
    var text = pass ? pass[1] : code;
    return text.length === 8 ? text.slice(0, 4) + "-" + text.slice(4) : text.slice(0, 40);
  }
  function logLine(item) {
    var line = $("log").querySelector('[data-scan="' + item.id + '"]');
    if (!line) {
      line = app.el("li");
      line.setAttribute("data-scan", item.id);
      $("log").insertBefore(line, $("log").firstChild);
    }
    return line;
  }
  function pending(item) {
    var line = logLine(item);
    line.setAttribute("data-answer", "pending");
    line.textContent = "⏳ " + (item.people ? words.headcount + " " + item.people : shown(item.code)) +
      " — " + words.saved_here;
  }
  function answered(result) {
    var line = logLine(result);
    line.setAttribute("data-answer", result.answer);
    line.textContent = (result.symbol || SYMBOLS[result.answer] || "") + " " +
      (result.code || shown(result.typed || "")) + " — " + result.label;
  }
  function showCounts(counts) {
    if (!counts) return;
    Array.prototype.forEach.call(document.querySelectorAll("[data-count]"), function (cell) {
      cell.textContent = counts[cell.getAttribute("data-count")];
    });
  }

  // -- sending

  function refused(answer) {
    if (answer.status === 401) {
      expired = true;  // initData too old: keep the scans, ask to reopen the Door
      showQueue();
      app.say(words.expired);
      return true;
    }
    return false;
  }

  function flush() {
    if (sending) return Promise.resolve();
    var items = queue();
    if (!items.length) return Promise.resolve();
    var first = items[0];
    sending = true;
    var request;
    if (first.people) {
      request = app.api("/api/door/sessions/" + first.session + "/headcount", {
        method: "POST", body: { id: first.id, people: first.people },
      }).then(function (answer) {
        if (answer.ok) {
          var line = logLine(first);
          line.setAttribute("data-answer", "headcount");
          line.textContent = "👥 " + words.headcount + " +" + first.people;
          showCounts(answer.data.counts);
        }
        return [answer, [first.id]];
      });
    } else {
      var batch = items.filter(function (item) {
        return !item.people && item.session === first.session;
      }).slice(0, BATCH);
      request = app.api("/api/door/sessions/" + first.session + "/scans", {
        method: "POST",
        body: { scans: batch.map(function (item) { return { id: item.id, code: item.code }; }) },
      }).then(function (answer) {
        if (answer.ok) {
          var mine = current && current.id === first.session;
          answer.data.results.forEach(function (result, index) {
            result.typed = batch[index].code;
            answered(result);
          });
          var newest = answer.data.results[answer.data.results.length - 1];
          if (newest) app.haptic(HAPTICS[newest.answer]);
          if (mine) showCounts(answer.data.counts);
        }
        return [answer, batch.map(function (item) { return item.id; })];
      });
    }
    return request.then(function (outcome) {
      var answer = outcome[0], ids = outcome[1];
      sending = false;
      if (refused(answer)) return;
      if (answer.status >= 500) return;  // the server will be back: keep them, retry later
      expired = false;
      if (!answer.ok) app.say(answer.data.message || words.error);  // never accepted: drop
      saveQueue(queue().filter(function (item) { return ids.indexOf(item.id) < 0; }));
      return flush();
    }, function () {
      sending = false;  // no network: they wait here
      showQueue();
    });
  }

  function enqueue(item) {
    var items = queue();
    items.push(item);
    saveQueue(items);
    pending(item);
    app.haptic("light");
    return flush();
  }

  function scanned(text) {
    text = (text || "").trim();
    if (!text || !current) return false;
    var now = Date.now();
    if (text === lastText && now - lastAt < REPEAT_MS) return false;  // the camera saw it again
    lastText = text;
    lastAt = now;
    enqueue({ id: newId(), session: current.id, code: text });
    return false;  // keep the popup open for the next pass
  }

  // -- choosing a session

  function open(item) {
    current = item.session;
    $("choose").hidden = true;
    $("desk").hidden = false;
    $("desk-title").textContent = current.title;
    $("desk-when").textContent = current.when + (current.venue ? " · " + current.venue.name : "");
    showCounts(item.counts);
    showQueue();
    if (tg && tg.CloudStorage) tg.CloudStorage.setItem(SESSION_KEY, String(current.id));
    mainButton(true);
    $("scan").focus();
  }

  function choose(sessions, remembered) {
    var list = $("today");
    list.textContent = "";
    $("today-empty").hidden = sessions.length > 0;
    var again = null;
    sessions.forEach(function (item) {
      var button = app.el("button");
      button.type = "button";
      button.appendChild(app.el("strong", item.session.title));
      button.appendChild(document.createTextNode(item.session.when +
        (item.session.venue ? " · " + item.session.venue.name : "")));
      button.addEventListener("click", function () { open(item); });
      var row = app.el("li");
      row.appendChild(button);
      list.appendChild(row);
      if (String(item.session.id) === remembered) again = item;
    });
    $("choose").hidden = false;
    $("desk").hidden = true;
    mainButton(false);
    if (again) open(again);
  }

  function load() {
    return app.api("/api/door/sessions").then(function (answer) {
      if (!answer.ok) {
        $("door-refused").textContent = answer.data.message || words.error;
        $("door-refused").hidden = false;
        return;
      }
      return new Promise(function (resolve) {
        if (!tg || !tg.CloudStorage) return resolve("");
        tg.CloudStorage.getItem(SESSION_KEY, function (error, value) { resolve(error ? "" : value); });
      }).then(function (remembered) {
        choose(answer.data.sessions, remembered);
        return flush();
      });
    });
  }

  function refreshCounts() {
    if (!current || document.hidden) return;
    app.api("/api/door/sessions/" + current.id).then(function (answer) {
      if (answer.ok && current && answer.data.session.id === current.id) showCounts(answer.data.counts);
    }, function () {});
  }

  // -- the volunteer's buttons

  function startScanning() {
    if (!current) return;
    if (!tg || !tg.showScanQrPopup || !tg.isVersionAtLeast || !tg.isVersionAtLeast("6.4")) {
      app.say(words.no_scanner);
      $("code").focus();
      return;
    }
    tg.showScanQrPopup({ text: words.scan_prompt }, scanned);
  }

  // Telegram's big button at the bottom of the screen scans too, while a session is open.
  function mainButton(show) {
    if (!tg || !tg.MainButton) return;
    if (show) tg.MainButton.setText($("scan").textContent).show();
    else tg.MainButton.hide();
  }

  function wire() {
    $("scan").addEventListener("click", startScanning);
    if (tg && tg.MainButton) tg.MainButton.onClick(startScanning);
    $("typed").addEventListener("submit", function (event) {
      event.preventDefault();
      var code = $("code").value.trim();
      if (!code || !current) return;
      $("code").value = "";
      enqueue({ id: newId(), session: current.id, code: code });
    });
    $("headcount").addEventListener("submit", function (event) {
      event.preventDefault();
      var people = parseInt($("people").value, 10);
      if (!(people >= 1 && people <= 10000) || !current) {
        app.say(words.bad_headcount);
        return;
      }
      $("people").value = "";
      enqueue({ id: newId(), session: current.id, people: people });
    });
    $("undo").addEventListener("click", function () {
      var items = queue();
      if (items.length && sending) {
        app.say(words.wait_sending);
        return;
      }
      if (items.length) {
        // Not sent yet: take it back here, the server never hears of it.
        var last = items.pop();
        saveQueue(items);
        logLine(last).classList.add("undone");
        app.say(words.undone_here);
        app.haptic("medium");
        return;
      }
      $("undo").disabled = true;
      app.api("/api/door/undo", { method: "POST", body: {} }).then(function (answer) {
        $("undo").disabled = false;
        if (refused(answer)) return;
        if (!answer.ok) {
          app.say(answer.data.message || words.error);
          return;
        }
        if (!answer.data.undone) {
          app.say(words.nothing_to_undo);
          return;
        }
        var lines = $("log").querySelectorAll("li:not(.undone)");
        if (lines.length) lines[0].classList.add("undone");
        app.say(answer.data.undone.message);
        app.haptic("medium");
        if (current && answer.data.undone.session_id === current.id) showCounts(answer.data.counts);
      }, function () {
        $("undo").disabled = false;
        app.say(words.undo_needs_network);
      });
    });
    $("other-session").addEventListener("click", function () {
      current = null;
      if (tg && tg.CloudStorage) tg.CloudStorage.removeItem(SESSION_KEY);
      load();
    });
    window.addEventListener("online", function () { flush(); });
    setInterval(function () { flush(); }, RETRY_MS);
    setInterval(refreshCounts, 10000);
  }

  var begun = false;
  function begin() {
    if (begun) return;
    begun = true;
    wire();
    load().then(function () {
      document.documentElement.setAttribute("data-door", "1");
    });
  }
  if (app.me) begin();  // app.js knew who calls before this script ran
  else document.addEventListener("learncity:me", begin);
})();
