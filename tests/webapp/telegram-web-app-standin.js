// A small stand-in for https://telegram.org/js/telegram-web-app.js, served by the browser tests
// in its place (tests/test_webapp_pages.py intercepts the request).
//
// Like the real script it reads the launch parameters from the URL hash (tgWebAppData: the
// signed initData, tgWebAppVersion, tgWebAppThemeParams, tgWebAppPlatform) and keeps them in
// sessionStorage, so a page opened by a link inside the Mini App still knows them; it sets the
// theme's CSS variables (--tg-theme-bg-color, ...) on <html>.
//
// What the real client would do is recorded in window.__standin for the test to read:
// haptics, button calls, links opened; CloudStorage lives in memory (per page); the QR popup
// is answered by the test through window.__standin.scan(text) and .closeScan().
(function () {
  "use strict";

  function parseHash(hash) {
    var params = {};
    hash = (hash || "").replace(/^#/, "");
    if (!hash) return params;
    hash.split("&").forEach(function (pair) {
      var at = pair.indexOf("=");
      if (at < 0) return;
      params[decodeURIComponent(pair.slice(0, at))] = decodeURIComponent(
        pair.slice(at + 1).replace(/\+/g, "%20")
      );
    });
    return params;
  }

  var launch = parseHash(window.location.hash);
  var stored = {};
  try {
    stored = JSON.parse(sessionStorage.getItem("__telegram__initParams") || "{}");
  } catch (e) {
    stored = {};
  }
  Object.keys(stored).forEach(function (key) {
    if (launch[key] === undefined) launch[key] = stored[key];
  });
  sessionStorage.setItem("__telegram__initParams", JSON.stringify(launch));

  var initData = launch.tgWebAppData || "";
  var version = launch.tgWebAppVersion || "6.0";
  var theme = {};
  try {
    theme = JSON.parse(launch.tgWebAppThemeParams || "{}");
  } catch (e) {
    theme = {};
  }
  var unsafe = {};
  parseHash(initData).user && (unsafe.user = JSON.parse(parseHash(initData).user));

  var record = {
    haptics: [],
    calls: [],
    links: [],
    cloud: {},
    scanning: null,
    scanClosedHandlers: [],
  };
  window.__standin = record;

  function call(name, args) {
    record.calls.push({ name: name, args: Array.prototype.slice.call(args || []) });
  }

  var root = document.documentElement;
  Object.keys(theme).forEach(function (key) {
    root.style.setProperty("--tg-theme-" + key.replace(/_/g, "-"), theme[key]);
  });
  root.style.setProperty("--tg-viewport-height", window.innerHeight + "px");

  function isVersionAtLeast(wanted) {
    var have = version.split(".").map(Number);
    var need = String(wanted).split(".").map(Number);
    for (var i = 0; i < Math.max(have.length, need.length); i++) {
      var a = have[i] || 0;
      var b = need[i] || 0;
      if (a !== b) return a > b;
    }
    return true;
  }

  function button(name) {
    var state = { text: "", isVisible: false, handlers: [] };
    state.setText = function (text) {
      call(name + ".setText", [text]);
      state.text = text;
      return state;
    };
    state.show = function () {
      call(name + ".show");
      state.isVisible = true;
      return state;
    };
    state.hide = function () {
      call(name + ".hide");
      state.isVisible = false;
      return state;
    };
    state.onClick = function (handler) {
      state.handlers.push(handler);
      return state;
    };
    state.offClick = function (handler) {
      state.handlers = state.handlers.filter(function (h) {
        return h !== handler;
      });
      return state;
    };
    state.click = function () {
      state.handlers.forEach(function (h) {
        h();
      });
    };
    return state;
  }

  function later(callback, error, value) {
    if (callback) setTimeout(function () { callback(error, value); }, 0);
  }

  var cloudStorage = {
    setItem: function (key, value, callback) {
      call("CloudStorage.setItem", [key]);
      record.cloud[key] = String(value);
      later(callback, null, true);
    },
    getItem: function (key, callback) {
      later(callback, null, record.cloud[key] === undefined ? "" : record.cloud[key]);
    },
    getItems: function (keys, callback) {
      var values = {};
      keys.forEach(function (key) {
        values[key] = record.cloud[key] === undefined ? "" : record.cloud[key];
      });
      later(callback, null, values);
    },
    removeItem: function (key, callback) {
      delete record.cloud[key];
      later(callback, null, true);
    },
    removeItems: function (keys, callback) {
      keys.forEach(function (key) {
        delete record.cloud[key];
      });
      later(callback, null, true);
    },
    getKeys: function (callback) {
      later(callback, null, Object.keys(record.cloud));
    },
  };

  var handlers = {};
  var webApp = {
    initData: initData,
    initDataUnsafe: unsafe,
    version: version,
    platform: launch.tgWebAppPlatform || "unknown",
    colorScheme: theme.bg_color && luminance(theme.bg_color) < 0.5 ? "dark" : "light",
    themeParams: theme,
    isExpanded: true,
    MainButton: button("MainButton"),
    BackButton: button("BackButton"),
    CloudStorage: cloudStorage,
    HapticFeedback: {
      impactOccurred: function (style) {
        record.haptics.push("impact:" + style);
        return webApp.HapticFeedback;
      },
      notificationOccurred: function (type) {
        record.haptics.push("notification:" + type);
        return webApp.HapticFeedback;
      },
      selectionChanged: function () {
        record.haptics.push("selection");
        return webApp.HapticFeedback;
      },
    },
    isVersionAtLeast: isVersionAtLeast,
    ready: function () {
      call("ready");
    },
    expand: function () {
      call("expand");
    },
    close: function () {
      call("close");
    },
    setHeaderColor: function (color) {
      call("setHeaderColor", [color]);
    },
    setBackgroundColor: function (color) {
      call("setBackgroundColor", [color]);
    },
    openLink: function (url) {
      call("openLink", [url]);
      record.links.push(url);
    },
    openTelegramLink: function (url) {
      call("openTelegramLink", [url]);
      record.links.push(url);
    },
    showAlert: function (message, callback) {
      call("showAlert", [message]);
      later(callback);
    },
    showScanQrPopup: function (params, callback) {
      if (!isVersionAtLeast("6.4")) throw new Error("WebAppMethodUnsupported");
      call("showScanQrPopup", [params]);
      record.scanning = { params: params, callback: callback };
    },
    closeScanQrPopup: function () {
      call("closeScanQrPopup");
      record.scanning = null;
    },
    onEvent: function (type, handler) {
      (handlers[type] = handlers[type] || []).push(handler);
    },
    offEvent: function (type, handler) {
      handlers[type] = (handlers[type] || []).filter(function (h) {
        return h !== handler;
      });
    },
  };

  function luminance(hex) {
    var value = parseInt(hex.replace("#", ""), 16);
    var r = (value >> 16) & 255, g = (value >> 8) & 255, b = value & 255;
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
  }

  function emit(type, data) {
    (handlers[type] || []).forEach(function (h) {
      h.call(webApp, data);
    });
  }

  // The test's side of the QR popup: a pass held up to the camera, or the popup closed.
  record.scan = function (text) {
    if (!record.scanning) throw new Error("no QR popup is open");
    var scanning = record.scanning;
    emit("qrTextReceived", { data: text });
    var close = scanning.callback ? scanning.callback(text) : false;
    if (close === true && record.scanning === scanning) {
      record.scanning = null;
      emit("scanQrPopupClosed", {});
    }
  };
  record.closeScan = function () {
    record.scanning = null;
    emit("scanQrPopupClosed", {});
  };

  window.Telegram = { WebApp: webApp };
})();
