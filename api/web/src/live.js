// Follows one topic of GET /v1/ws (API.md, WebSocket) and survives dropped connections: after a
// drop it reconnects with backoff (250 ms doubling to 10 s) and subscribes again with the seq of
// the last frame it handed on as `last_seq`, so the server replays what was missed; a frame at
// or below that seq is a repeat and is dropped. Fatal answers (a refused or expired token, a
// topic the caller may not see) end it.

const fatalCodes = new Set(['unauthorized', 'forbidden', 'not_found', 'invalid_request']);

export function follow({ token, topic, onSnapshot, onEvent, onState, onFatal, expiresAt = 0 }) {
  let lastSeq = null;
  let backoff = 250;
  let stopped = false;
  let socket = null;
  let timer = null;

  const connect = () => {
    timer = null;
    onState(lastSeq === null ? 'connecting' : 'reconnecting');
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    // Browsers cannot set headers on a WebSocket: the token goes in the query (API.md).
    const url = `${scheme}://${location.host}/v1/ws?access_token=${encodeURIComponent(token)}`;
    const ws = new WebSocket(url);
    socket = ws;
    ws.onopen = () => {
      const msg = { op: 'subscribe', topic };
      if (lastSeq !== null) msg.last_seq = lastSeq;
      ws.send(JSON.stringify(msg));
      // A resumed subscription that missed nothing gets no frame: open is live.
      if (lastSeq !== null) {
        backoff = 250;
        onState('live');
      }
    };
    ws.onmessage = (e) => {
      let f;
      try {
        f = JSON.parse(e.data);
      } catch {
        return;
      }
      if (f.type === 'snapshot' && f.topic === topic) {
        lastSeq = f.seq;
        backoff = 250;
        onState('live');
        onSnapshot(f.data, f.seq);
      } else if (f.type === 'event' && f.topic === topic) {
        if (lastSeq !== null && f.seq <= lastSeq) return;
        lastSeq = f.seq;
        onEvent(f.data, f.seq);
      } else if (f.type === 'error' && fatalCodes.has(f.code)) {
        stop();
        onFatal(f.code);
      }
    };
    ws.onclose = (e) => {
      if (stopped || socket !== ws) return;
      // An upgrade refused for an expired token closes like a dropped line (1006): the token's
      // own exp tells the two apart.
      if (e.code === 4401 || e.code === 4403 || (expiresAt > 0 && Date.now() >= expiresAt)) {
        stop();
        onFatal(e.code === 4403 ? 'forbidden' : 'expired');
        return;
      }
      onState('reconnecting');
      timer = setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 10000);
    };
  };

  const stop = () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    if (socket) socket.close();
  };

  connect();
  return { stop };
}
