// The demo admin around the app's iframe, playing Shopify's admin for the App Bridge stand-in inside it: it answers
// session-token requests (from the portal, which signs them with the demo app's secret), shows the app's menu and
// toasts, keeps the page address in step with the app's, refreshes the overview while the demo runs, switches the
// admin language, and shows the demo clock with Pause / Resume.
(function () {
  var config = JSON.parse(document.getElementById("demo-config").textContent);
  var frame = document.getElementById("app-frame");
  var menu = document.getElementById("app-menu");
  var toast = document.getElementById("toast");

  function reply(source, id, body) {
    source.postMessage(Object.assign({ type: "reclaim-demo:reply", id: id }, body), config.appOrigin);
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== config.appOrigin || event.source !== frame.contentWindow || !event.data) return;
    var data = event.data;
    if (data.type === "reclaim-demo:id-token") {
      fetch("/api/session-token", { method: "POST" })
        .then(function (r) {
          if (!r.ok) throw new Error("token refused: " + r.status);
          return r.json();
        })
        .then(function (body) {
          reply(event.source, data.id, { token: body.token });
        })
        .catch(function (error) {
          reply(event.source, data.id, { error: String(error.message || error) });
        });
    } else if (data.type === "reclaim-demo:menu") {
      renderMenu(data.items || []);
    } else if (data.type === "reclaim-demo:toast") {
      showToast(data.message, data.isError);
    } else if (data.type === "reclaim-demo:location") {
      current = data.path;
      var url = new URL(location.href);
      url.searchParams.set("path", data.path);
      history.replaceState(null, "", url);
      highlight();
    }
  });

  var current = config.path;
  function renderMenu(list) {
    menu.textContent = "";
    list.forEach(function (item) {
      var a = document.createElement("a");
      a.href = "/?path=" + encodeURIComponent(item.href);
      a.textContent = item.label;
      a.dataset.href = item.href;
      a.addEventListener("click", function (event) {
        event.preventDefault();
        frame.contentWindow.postMessage({ type: "reclaim-demo:navigate", href: item.href }, config.appOrigin);
      });
      menu.appendChild(a);
    });
    highlight();
  }
  function highlight() {
    Array.prototype.forEach.call(menu.querySelectorAll("a"), function (a) {
      a.classList.toggle("active", a.dataset.href === current);
    });
  }

  var toastTimer = null;
  function showToast(message, isError) {
    toast.textContent = message;
    toast.className = "toast visible" + (isError ? " error" : "");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () {
      toast.className = "toast";
    }, 4000);
  }

  // The admin language: Shopify opens the app again with the staff member's new `locale`, as after changing the
  // language in the admin's profile; the page the app was on stays.
  var language = document.getElementById("admin-language");
  language.addEventListener("change", function () {
    var url = new URL(location.href);
    url.searchParams.set("locale", language.value);
    url.searchParams.set("path", current);
    location.href = url.toString();
  });

  // The demo clock, the inbox count and Pause / Resume.
  var clock = document.getElementById("demo-clock");
  var inboxCount = document.getElementById("inbox-count");
  var pauseButton = document.getElementById("pause");
  var live = document.getElementById("live");
  var paused = false;
  function status() {
    fetch("/api/status")
      .then(function (r) {
        return r.json();
      })
      .then(function (s) {
        paused = s.paused;
        clock.textContent =
          new Intl.DateTimeFormat("en", { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" }).format(new Date(s.demoTime)) +
          " UTC · ×" +
          s.speed +
          (s.paused ? " · paused" : "");
        inboxCount.textContent = String(s.inbox.emails);
        pauseButton.textContent = s.paused ? "Resume" : "Pause";
      })
      .catch(function () {
        clock.textContent = "demo stopped";
      });
  }
  pauseButton.addEventListener("click", function () {
    pauseButton.disabled = true;
    fetch(paused ? "/api/resume" : "/api/pause", { method: "POST" }).finally(function () {
      pauseButton.disabled = false;
      status();
    });
  });
  status();
  setInterval(status, 2000);
  // Figures come in all the time: the overview and the recoveries list are refreshed the way the app refreshes itself
  // on navigation (its loaders run again), not by reloading the frame.
  setInterval(function () {
    if (live.checked && !paused && (current === "/app" || current === "/app/recoveries")) {
      frame.contentWindow.postMessage({ type: "reclaim-demo:refresh" }, config.appOrigin);
    }
  }, config.refreshMs);
})();
