// lawcket chat page: no build step, no dependencies.
//
// The page and the WebSocket endpoint share one origin: `lawcket dev --static`
// serves this directory at / and accepts WebSocket upgrades on / as well.
// URL parameters: ?user=U&room=R joins at once; &autosend=TEXT also sends TEXT
// once connected (used by the headless browser test).
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  let socket = null;
  let me = null;

  function setStatus(text) {
    $("status").textContent = text;
  }

  // add appends one line to the message list. Text is always set with
  // textContent: messages are data, never markup.
  function add(kind, user, text) {
    const li = document.createElement("li");
    li.className = kind;
    if (user !== null) {
      const name = document.createElement("span");
      name.className = "user";
      name.textContent = user + ":";
      li.appendChild(name);
    }
    li.appendChild(document.createTextNode(text));
    const list = $("messages");
    list.appendChild(li);
    list.scrollTop = list.scrollHeight;
  }

  function joined(on) {
    $("join").hidden = on;
    $("leave").hidden = !on;
    $("send").hidden = !on;
  }

  function join(user, room, autosend) {
    if (socket) {
      socket.close(1000, "rejoin");
    }
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const q = new URLSearchParams();
    if (user) q.set("user", user); // without it the row says "anonymous"
    q.set("room", room);
    const ws = new WebSocket(scheme + "//" + location.host + "/?" + q.toString());
    socket = ws;
    user = user || "anonymous";
    me = { user: user, room: room };
    setStatus("connecting to room " + room + " …");

    ws.onopen = function () {
      if (socket !== ws) return;
      setStatus("connected to room " + room + " as " + user);
      $("whoami").textContent = user + " in " + room;
      joined(true);
      $("text").focus();
      if (autosend) {
        send(autosend);
      }
    };
    ws.onmessage = function (ev) {
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch (e) {
        add("info", null, String(ev.data));
        return;
      }
      if (msg && typeof msg.error === "string") {
        add("error", null, "error: " + msg.error);
      } else if (msg && typeof msg.text === "string") {
        add(msg.user === me.user ? "mine" : "other", String(msg.user), msg.text);
      } else {
        add("info", null, ev.data);
      }
    };
    ws.onclose = function (ev) {
      if (socket !== ws) return;
      socket = null;
      joined(false);
      // A refused handshake (e.g. 400 for a missing room) shows up as 1006:
      // browsers do not expose the HTTP status.
      setStatus("disconnected (code " + ev.code + (ev.reason ? ": " + ev.reason : "") + ")");
    };
  }

  function send(text) {
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      add("error", null, "not connected");
      return;
    }
    socket.send(JSON.stringify({ action: "send", text: text }));
  }

  $("join").addEventListener("submit", function (ev) {
    ev.preventDefault();
    const user = $("user").value.trim();
    const room = $("room").value.trim();
    if (!room) return;
    const q = new URLSearchParams({ user: user, room: room });
    history.replaceState(null, "", "?" + q.toString());
    join(user, room, "");
  });

  $("leave").addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (socket) socket.close(1000, "bye");
  });

  $("send").addEventListener("submit", function (ev) {
    ev.preventDefault();
    const text = $("text").value;
    if (text.trim() === "") return;
    send(text);
    $("text").value = "";
  });

  $("user").value = params.get("user") || "";
  $("room").value = params.get("room") || "";
  if (params.get("room")) {
    join(params.get("user") || "", params.get("room"), params.get("autosend") || "");
  }
})();
