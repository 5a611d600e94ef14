// lawcket chat page: no build step, no dependencies.
//
// The page and the WebSocket endpoint share one origin: `lawcket dev --static`
// serves this directory at / and accepts WebSocket upgrades on / as well.
// URL parameters: ?user=U&room=R joins at once; &autosend=TEXT also sends TEXT
// once connected (used by the headless browser test).
//
// Rooms are channels (/rooms/NAME, package channels): the connect joins the
// room of ?room=; "Switch" leaves the current room and joins another while
// the socket stays open ({"action":"unsubscribe"} then {"action":"subscribe"});
// the member list comes from the presence snapshot in subscribe_success and
// presence_success, and is kept up to date by join and leave frames.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  let socket = null;
  let me = null; // {user, room}
  let members = new Map(); // member key -> user
  let nextID = 1;

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

  function renderMembers() {
    const ul = $("members");
    ul.textContent = "";
    const names = Array.from(members.values()).sort();
    for (const n of names) {
      const li = document.createElement("li");
      li.textContent = n;
      ul.appendChild(li);
    }
    $("count").textContent = String(names.length);
  }

  function setPresence(p) {
    members = new Map();
    for (const m of (p && p.members) || []) {
      members.set(m.key, (m.fields && m.fields.user) || m.key);
    }
    renderMembers();
  }

  function joined(on) {
    $("join").hidden = on;
    $("leave").hidden = !on;
    $("send").hidden = !on;
    $("switch").hidden = !on;
    $("people").hidden = !on;
  }

  function request(action, channel) {
    const id = String(nextID++);
    socket.send(JSON.stringify({ action: action, id: id, channel: channel }));
    return id;
  }

  function showRoom(room) {
    me.room = room;
    $("whoami").textContent = me.user + " in " + room;
    setStatus("connected to room " + room + " as " + me.user);
  }

  function onFrame(msg) {
    const channel = me && "/rooms/" + me.room;
    switch (msg.type) {
      case "data":
        if (msg.channel !== channel || !msg.event) return;
        add(msg.event.user === me.user ? "mine" : "other", String(msg.event.user), String(msg.event.text));
        return;
      case "join":
        if (msg.channel !== channel) return;
        members.set(msg.member.key, (msg.member.fields && msg.member.fields.user) || msg.member.key);
        renderMembers();
        add("info", null, String(members.get(msg.member.key)) + " joined");
        return;
      case "leave":
        if (msg.channel !== channel) return;
        add("info", null, String(members.get(msg.member.key) || msg.member.key) + " left");
        members.delete(msg.member.key);
        renderMembers();
        return;
      case "subscribe_success":
        showRoom(msg.channel.replace(/^\/rooms\//, ""));
        setPresence(msg.presence);
        return;
      case "presence_success":
        if (msg.channel === channel) setPresence(msg.presence);
        return;
      case "unsubscribe_success":
        return;
    }
    if (Array.isArray(msg.errors)) {
      add("error", null, "error: " + msg.errors.map((e) => e.message).join("; "));
    } else if (typeof msg.error === "string") {
      add("error", null, "error: " + msg.error);
    }
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
      showRoom(room); // the connect subscribed us to /rooms/ROOM
      joined(true);
      request("presence", "/rooms/" + room);
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
      if (msg && typeof msg === "object") onFrame(msg);
    };
    ws.onclose = function (ev) {
      if (socket !== ws) return;
      socket = null;
      joined(false);
      setPresence(null);
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
    socket.send(JSON.stringify({ action: "send", room: me.room, text: text }));
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

  // Switching rooms keeps the connection: leave the current room's channel
  // and join the new one.
  $("switch").addEventListener("submit", function (ev) {
    ev.preventDefault();
    const room = $("newroom").value.trim();
    if (!room || !socket || room === me.room) return;
    request("unsubscribe", "/rooms/" + me.room);
    setPresence(null);
    add("info", null, "switching to room " + room);
    me.room = room; // frames of the old room are ignored from now on
    request("subscribe", "/rooms/" + room);
    $("newroom").value = "";
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
