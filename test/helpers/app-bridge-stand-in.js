// Test-only stand-in for https://cdn.shopify.com/shopifycloud/app-bridge.js (unreachable offline; see
// docs/decisions/006-testing-the-embedded-admin-offline.md). Served by Playwright's request interception, never by
// the app. Like App Bridge it provides `shopify.idToken()` and adds the session token to the app's own fetches; the
// tokens come from the test (window.__reclaimTestToken, signed with the test app secret), so the server verifies them
// exactly as it verifies Shopify's.
(function () {
  var script = document.currentScript;
  var params = new URLSearchParams(location.search);
  window.shopify = {
    config: { apiKey: script && script.dataset.apiKey, shop: params.get("shop"), host: params.get("host") },
    idToken: function () {
      return window.__reclaimTestToken();
    },
    toast: { show: function () {} },
    loading: function () {},
  };
  // In the admin, <ui-nav-menu> becomes the app's entries in Shopify's sidebar, not links on the page.
  var style = document.createElement("style");
  style.textContent = "ui-nav-menu{display:none}";
  document.head.appendChild(style);
  var originalFetch = window.fetch.bind(window);
  window.fetch = async function (input, init) {
    var url = new URL(typeof input === "string" || input instanceof URL ? String(input) : input.url, location.href);
    if (url.origin !== location.origin) return originalFetch(input, init);
    var headers = new Headers((init && init.headers) || (input instanceof Request ? input.headers : undefined));
    headers.set("Authorization", "Bearer " + (await window.shopify.idToken()));
    return originalFetch(input, Object.assign({}, init, { headers: headers }));
  };
})();
