// Demo-only stand-in for https://cdn.shopify.com/shopifycloud/app-bridge.js, which an offline machine cannot load
// (docs/decisions/060-local-demo.md, after ADR 006). The demo's app server serves it in place of the CDN script and
// fills in ADMIN_ORIGIN. Like App Bridge it lives inside the app's iframe and talks to the admin around it with
// postMessage: the admin (the demo portal, playing Shopify's admin) hands out session tokens signed with the app's
// secret, shows the app's navigation and toasts. The app's own code is unchanged and verifies the tokens as usual.
(function () {
  var ADMIN_ORIGIN = "__ADMIN_ORIGIN__";
  var script = document.currentScript;
  var params = new URLSearchParams(location.search);
  var framed = window.parent !== window;

  // Opened outside the admin: App Bridge sends the merchant to the admin; so does this.
  if (!framed) {
    location.replace(ADMIN_ORIGIN + "/?path=" + encodeURIComponent(location.pathname));
    return;
  }

  var waiting = {};
  var sequence = 0;
  function post(message) {
    window.parent.postMessage(message, ADMIN_ORIGIN);
  }
  function ask(type, payload) {
    return new Promise(function (resolve, reject) {
      var id = "r" + ++sequence;
      var timer = setTimeout(function () {
        delete waiting[id];
        reject(new Error("the demo admin did not answer " + type));
      }, 10000);
      waiting[id] = function (reply) {
        clearTimeout(timer);
        if (reply.error) reject(new Error(reply.error));
        else resolve(reply);
      };
      post(Object.assign({ type: type, id: id }, payload || {}));
    });
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== ADMIN_ORIGIN || !event.data || typeof event.data !== "object") return;
    var data = event.data;
    if (data.type === "reclaim-demo:reply" && waiting[data.id]) {
      var done = waiting[data.id];
      delete waiting[data.id];
      done(data);
    } else if (data.type === "reclaim-demo:navigate") {
      navigate(data.href);
    } else if (data.type === "reclaim-demo:refresh") {
      refresh();
    }
  });

  window.shopify = {
    config: { apiKey: script && script.dataset.apiKey, shop: params.get("shop"), host: params.get("host"), locale: params.get("locale") || "en" },
    idToken: function () {
      return ask("reclaim-demo:id-token").then(function (reply) {
        return reply.token;
      });
    },
    toast: {
      show: function (message, options) {
        post({ type: "reclaim-demo:toast", message: String(message), isError: Boolean(options && options.isError) });
      },
      hide: function () {},
    },
    loading: function () {},
  };

  // Like App Bridge: the app's own requests carry a fresh session token.
  var originalFetch = window.fetch.bind(window);
  window.fetch = function (input, init) {
    var url = new URL(typeof input === "string" || input instanceof URL ? String(input) : input.url, location.href);
    if (url.origin !== location.origin) return originalFetch(input, init);
    return window.shopify.idToken().then(function (token) {
      var headers = new Headers((init && init.headers) || (input instanceof Request ? input.headers : undefined));
      headers.set("Authorization", "Bearer " + token);
      return originalFetch(input, Object.assign({}, init, { headers: headers }));
    });
  };

  // The library's bounce page (/auth/session-token): reload the app with a fresh token, as App Bridge does.
  var reload = params.get("shopify-reload");
  if (reload) {
    window.shopify.idToken().then(function (token) {
      var target = new URL(reload, location.href);
      if (target.origin !== location.origin) return;
      target.searchParams.set("id_token", token);
      location.replace(target.toString());
    });
    return;
  }

  // In the admin, <ui-nav-menu> is the app's entries in Shopify's sidebar, not links on the page: hand them over.
  var style = document.createElement("style");
  style.textContent = "ui-nav-menu{display:none}";
  document.head.appendChild(style);
  function navLinks() {
    var menu = document.querySelector("ui-nav-menu");
    return menu ? Array.prototype.slice.call(menu.querySelectorAll("a[href]")) : [];
  }
  var lastMenu = "";
  function sendMenu() {
    var items = navLinks().map(function (a) {
      return { label: a.textContent.trim(), href: new URL(a.href, location.href).pathname, home: a.getAttribute("rel") === "home" };
    });
    var text = JSON.stringify(items);
    if (items.length && text !== lastMenu) {
      lastMenu = text;
      post({ type: "reclaim-demo:menu", items: items });
    }
  }
  function sendLocation() {
    post({ type: "reclaim-demo:location", path: location.pathname, search: location.search });
  }
  function navigate(href) {
    var link = navLinks().filter(function (a) {
      return new URL(a.href, location.href).pathname === href;
    })[0];
    if (link) link.click();
  }
  // Fresh figures without a page load: follow the app's own menu link to the page already shown (Remix then runs the
  // page's loaders again). Only where the menu has that page and no filter is set.
  var EMBED_PARAMS = ["embedded", "shop", "host", "id_token", "locale", "session", "timestamp", "hmac"];
  function refresh() {
    var extra = Array.from(new URLSearchParams(location.search).keys()).filter(function (k) {
      return EMBED_PARAMS.indexOf(k) === -1;
    });
    if (extra.length === 0 && !document.querySelector("[aria-busy='true']")) navigate(location.pathname);
  }
  ["pushState", "replaceState"].forEach(function (name) {
    var original = history[name].bind(history);
    history[name] = function () {
      var result = original.apply(null, arguments);
      setTimeout(sendLocation, 0);
      return result;
    };
  });
  window.addEventListener("popstate", sendLocation);
  document.addEventListener("DOMContentLoaded", function () {
    sendMenu();
    sendLocation();
    new MutationObserver(sendMenu).observe(document.body, { childList: true, subtree: true });
  });
})();
