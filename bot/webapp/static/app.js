// The Mini App's pages, in the browser: Telegram's theme with readable contrast, who is
// calling (GET /api/me with the signed initData), the resident's seats on the Programme, the
// card's Remind me / cancel, and My plan. No framework, no build step.
(function () {
  "use strict";
  var root = document.documentElement;
  var words = JSON.parse(document.getElementById("words").textContent || "{}");
  var tg = window.Telegram && window.Telegram.WebApp;
  var publicPage = root.hasAttribute("data-public");
  var statusLine = document.getElementById("status");
  var initData = launchData();

  // Telegram's script reads initData from the address's hash; a desktop browser that could not
  // load that script (offline, trying the local run) reads it the same way. The server checks
  // its signature either way.
  function launchData() {
    if (tg && tg.initData) return tg.initData;
    var found = /[#&]tgWebAppData=([^&]*)/.exec(location.hash);
    try {
      if (found) sessionStorage.setItem("learncity.initData", decodeURIComponent(found[1]));
      return sessionStorage.getItem("learncity.initData") || "";
    } catch (e) {
      return found ? decodeURIComponent(found[1]) : "";
    }
  }

  // -- colours: Telegram's theme, with faint colours darkened (or lightened) until readable

  function rgb(hex) {
    var m = /^#?([0-9a-f]{6})$/i.exec(hex || "");
    if (!m) return null;
    var n = parseInt(m[1], 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  }
  function hex(c) {
    return "#" + c.map(function (v) { return ("0" + Math.round(v).toString(16)).slice(-2); }).join("");
  }
  function luminance(c) {
    var v = c.map(function (x) {
      x /= 255;
      return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
  }
  function contrast(a, b) {
    var la = luminance(a), lb = luminance(b);
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  }
  function readable(colour, against, toward) {
    var c = colour.slice();
    for (var step = 0; step < 20 && contrast(c, against) < 4.6; step++) {
      c = c.map(function (v, i) { return v + (toward[i] - v) * 0.15; });
    }
    return c;
  }
  function applyTheme(theme) {
    var bg = rgb(theme.bg_color), text = rgb(theme.text_color);
    if (!bg || !text) return;
    var dark = luminance(bg) < 0.4;
    root.classList.toggle("dark", dark);
    var panel = rgb(theme.secondary_bg_color) || bg;
    var link = readable(rgb(theme.link_color) || text, dark ? panel : bg, text);
    link = readable(link, bg, text);
    var hint = readable(readable(rgb(theme.hint_color) || text, bg, text), panel, text);
    var button = rgb(theme.button_color) || link;
    var buttonText = rgb(theme.button_text_color) || bg;
    if (contrast(button, buttonText) < 4.6) {
      // Darken (or lighten) the button against its own text colour.
      button = readable(button, buttonText, luminance(buttonText) > 0.5 ? [0, 0, 0] : [255, 255, 255]);
    }
    root.style.setProperty("--c-link", hex(link));
    root.style.setProperty("--c-hint", hex(hint));
    root.style.setProperty("--c-button", hex(button));
    root.style.setProperty("--c-button-text", hex(buttonText));
    root.classList.add("contrast");
  }

  function say(text) {
    statusLine.textContent = text || "";
  }

  function haptic(kind) {
    if (!tg || !tg.HapticFeedback) return;
    if (kind === "success" || kind === "warning" || kind === "error") {
      tg.HapticFeedback.notificationOccurred(kind);
    } else {
      tg.HapticFeedback.impactOccurred(kind || "light");
    }
  }

  // -- the API: every request signed with initData

  function api(path, options) {
    options = options || {};
    var headers = { Authorization: "tma " + initData };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(path + (path.indexOf("?") < 0 ? "?" : "&") + "lang=" + root.lang, {
      method: options.method || "GET",
      headers: headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      cache: "no-store",
    }).then(function (response) {
      return response.json().then(
        function (data) { return { ok: response.ok, status: response.status, data: data }; },
        function () { return { ok: false, status: response.status, data: {} }; }
      );
    });
  }

  function outside() {
    var note = document.getElementById("outside");
    if (note) note.hidden = false;
    Array.prototype.forEach.call(document.querySelectorAll("[data-needs-telegram]"), function (el) {
      el.hidden = true;
    });
  }

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function pageUrl(path) {
    return path + "?lang=" + encodeURIComponent(root.lang);
  }

  // -- links that leave the Mini App open in Telegram's browser or chat

  function openOutside(event) {
    var link = event.target.closest && event.target.closest("a.out");
    if (!link || !tg) return;
    var href = link.href;
    if (/^https:\/\/t\.me\//.test(href) && tg.openTelegramLink) {
      event.preventDefault();
      tg.openTelegramLink(href);
    } else if (/^https?:/.test(href) && tg.openLink) {
      event.preventDefault();
      tg.openLink(href);
    }
  }

  // -- pages

  function markSeats() {
    return api("/api/plan").then(function (answer) {
      if (!answer.ok) return;
      var mine = {};
      (answer.data.going || []).forEach(function (s) { mine[s.id] = words.your_seat; });
      (answer.data.waitlisted || []).forEach(function (s) { mine[s.id] = words.waiting_list; });
      Array.prototype.forEach.call(document.querySelectorAll("[data-session]"), function (item) {
        var badge = item.querySelector(".mine");
        var label = mine[item.getAttribute("data-session")];
        if (badge && label) {
          badge.textContent = "· " + label;
          badge.hidden = false;
        }
      });
    });
  }

  function myTrackOption() {
    var select = document.getElementById("scope");
    if (!select) return;
    return api("/api/filters").then(function (answer) {
      var track = answer.ok && answer.data.my_track;
      if (!track) return;
      var value = "track:" + track.id;
      var label = select.getAttribute("data-my-track").replace("%(title)s", track.title);
      var existing = select.querySelector('option[value="' + value + '"]');
      if (existing) select.removeChild(existing);
      var option = el("option", label);
      option.value = value;
      option.selected = !!(existing && existing.selected);
      select.insertBefore(option, select.options[1] || null);
    });
  }

  function seatText(session) {
    if (session.seat === "going") return words.you_have_a_seat;
    if (session.seat === "waitlisted") {
      return words.on_waiting_list.replace("%(num)s", session.waitlist_position || "");
    }
    return "";
  }

  function card() {
    var box = document.getElementById("seat");
    if (!box) return;
    var id = document.querySelector(".card").getAttribute("data-session");
    var remind = document.getElementById("remind");
    var leave = document.getElementById("leave");
    var state = document.getElementById("seat-state");
    function show(session) {
      state.textContent = seatText(session);
      var open = session.status !== "cancelled";
      remind.hidden = !open || !!session.seat;
      leave.hidden = !session.seat;
    }
    function act(method, button) {
      button.disabled = true;
      api("/api/sessions/" + id + "/seat", { method: method }).then(function (answer) {
        button.disabled = false;
        if (answer.data.message) say(answer.data.message);
        if (answer.ok && answer.data.session) {
          show(answer.data.session);
          haptic(method === "POST" ? "success" : "medium");
          (method === "POST" ? leave : remind).focus();
        } else {
          haptic("error");
        }
      }, function () {
        button.disabled = false;
        say(words.no_network);
        haptic("error");
      });
    }
    remind.addEventListener("click", function () { act("POST", remind); });
    leave.addEventListener("click", function () { act("DELETE", leave); });
    return api("/api/sessions/" + id).then(function (answer) {
      if (answer.ok) show(answer.data);
      else if (answer.data.message) say(answer.data.message);
    });
  }

  function sessionRow(session) {
    var row = document.getElementById("plan-session").content.firstElementChild.cloneNode(true);
    var link = row.querySelector("a");
    link.textContent = session.title;
    link.href = pageUrl("/app/sessions/" + session.id);
    var time = row.querySelector("time");
    time.textContent = session.when;
    time.setAttribute("datetime", session.starts_at);
    var flag = row.querySelector(".flag");
    flag.textContent = session.status === "cancelled" ? words.cancelled
      : session.seat === "waitlisted" ? seatText(session) : "";
    row.querySelector(".place").textContent = session.venue
      ? session.venue.name + (session.venue.district ? ", " + session.venue.district : "")
      : words.online;
    return row;
  }

  function plan() {
    return api("/api/plan").then(function (answer) {
      document.getElementById("plan-loading").hidden = true;
      if (!answer.ok) {
        say(answer.data.message || words.error);
        return;
      }
      var data = answer.data;
      [["going", "going-part", data.going], ["waiting", "waiting-part", data.waitlisted]].forEach(
        function (part) {
          var list = document.getElementById(part[0]);
          (part[2] || []).forEach(function (s) { list.appendChild(sessionRow(s)); });
          document.getElementById(part[1]).hidden = !(part[2] || []).length;
        }
      );
      document.getElementById("plan-empty").hidden = !!((data.going || []).length ||
        (data.waitlisted || []).length);
      var track = data.track;
      if (!track) return;
      document.getElementById("track").hidden = false;
      document.getElementById("track-title").textContent = track.title;
      var progress = document.getElementById("track-progress");
      progress.max = Math.max(track.total, 1);
      progress.value = track.done;
      document.getElementById("track-done").textContent = words.track_done
        .replace("%(done)s", track.done).replace("%(total)s", track.total);
      var steps = document.getElementById("track-steps");
      (track.steps || []).forEach(function (step) {
        var row = document.getElementById("plan-step").content.firstElementChild.cloneNode(true);
        row.querySelector(".mark").textContent = step.done ? "✓" : "○";
        row.querySelector(".state").textContent = (step.done ? words.done : words.to_do) + ": ";
        row.querySelector(".step-title").textContent = step.title;
        var next = row.querySelector(".next");
        if (step.next && !step.done) {
          next.textContent = "→ " + step.next.when;
          next.href = pageUrl("/app/sessions/" + step.next.id);
        } else {
          next.remove();
        }
        steps.appendChild(row);
      });
    });
  }

  // Telegram's own Back button on every page but the Programme: back, or to the Programme.
  function backButton() {
    if (!tg.BackButton || root.getAttribute("data-page") === "programme") return;
    tg.BackButton.onClick(function () {
      if (history.length > 1) history.back();
      else location.href = pageUrl("/app/programme");
    });
    tg.BackButton.show();
  }

  var pages = { programme: function () { return Promise.all([markSeats(), myTrackOption()]); },
    card: card, plan: plan };

  function start() {
    if (publicPage) return;
    if (!initData) {
      outside();
      return;
    }
    if (tg) {
      applyTheme(tg.themeParams || {});
      tg.onEvent("themeChanged", function () { applyTheme(tg.themeParams || {}); });
      tg.ready();
      tg.expand();
      backButton();
    }
    document.addEventListener("click", openOutside);
    api("/api/me").then(function (answer) {
      if (answer.status === 401) {
        outside();
        return;
      }
      if (!answer.ok) {
        say(answer.data.message || words.error);
        return;
      }
      var me = answer.data;
      var query = new URLSearchParams(location.search);
      if (!query.get("lang") && me.language && me.language !== root.lang) {
        query.set("lang", me.language);
        location.replace(location.pathname + "?" + query.toString());
        return;
      }
      if (me.can_check_in) {
        Array.prototype.forEach.call(document.querySelectorAll(".team-only"), function (item) {
          item.hidden = false;
        });
      }
      window.LearnCity.me = me;
      var page = pages[root.getAttribute("data-page")];
      var done = page ? page(me) : null;
      document.dispatchEvent(new CustomEvent("learncity:me", { detail: me }));
      return done;
    }, function () { say(words.no_network); }).then(function () {
      root.setAttribute("data-ready", "1");
    });
  }

  window.LearnCity = { api: api, say: say, haptic: haptic, words: words, tg: tg, el: el };
  // After every deferred script (door.js) has run: DOMContentLoaded comes after them.
  if (document.readyState === "complete") start();
  else document.addEventListener("DOMContentLoaded", start);
})();
