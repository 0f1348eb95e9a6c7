'use strict';
// Node.js baseline of `mercato-bench push` and `idle` (docs/BENCHMARKS.md, "Push" and "Idle
// WebSocket subscribers"): the part of Mercato's API that those benchmarks use, on the npm
// package `ws`, in one process.
//
//   GET  /v1/ws                      upgrade (any token); {"op":"subscribe","topic":T} answers a
//                                    snapshot frame, then every event of T follows;
//                                    unsubscribe and ping as in API.md
//   POST /v1/orders/{id}/events      202; the fact becomes ONE event frame of topic order:{id},
//                                    serialised once, and that same buffer is sent to every
//                                    subscriber
//   GET  /v1/orders/{id}             200, the order (made on first use, as a subscription does;
//                                    idle_ws.sh reads each order once before it measures)
//   GET  /healthz                    200
//
//   node ws-baseline.js [--port P] [--port-file FILE]
//
// The port also comes from $PORT; 0 (the default) picks a free one. The server listens on
// 127.0.0.1 only, prints `listening on 127.0.0.1:PORT` and writes PORT to --port-file.

const fs = require('fs');
const http = require('http');
const { WebSocketServer } = require('ws');

function parseArgs(argv) {
  const out = { port: Number(process.env.PORT || 0), portFile: '' };
  for (let i = 0; i < argv.length; i++) {
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value`);
      return argv[++i];
    };
    if (argv[i] === '--port') out.port = Number(next());
    else if (argv[i] === '--port-file') out.portFile = next();
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!Number.isInteger(out.port) || out.port < 0 || out.port > 65535)
    throw new Error('--port must be 0..65535');
  return out;
}

// An order as GET /v1/orders/{id} answers it on Mercato (3 lines, a shipping address): the
// snapshot a subscriber receives first.
function orderJson(id) {
  const now = new Date().toISOString();
  const line = (n) => ({
    sku: `push-sku-${n}`,
    name: `Bench item push-sku-${n}`,
    quantity: 1,
    unit_price_minor: 1000,
    line_total_minor: 1000,
  });
  return {
    order_id: id,
    customer_id: 'bench-customer-0',
    status: 'confirmed',
    lines: [line(0), line(1), line(2)],
    totals: {
      subtotal_minor: 3000,
      discount_minor: 0,
      shipping_minor: 0,
      total_minor: 3000,
      currency: 'USD',
    },
    shipping_address: {
      name: 'Bench Customer',
      line1: '1 Load Street',
      city: 'London',
      postal_code: 'N1 9GU',
      country: 'GB',
      phone: null,
    },
    email: 'bench@example.com',
    coupon_code: null,
    checkout_id: 'co_0adbff3a76d1ed55aac5b42c27ea73dc',
    payment_id: 'co_0adbff3a76d1ed55aac5b42c27ea73dc',
    cancel_reason: null,
    eta: null,
    created_at: now,
    updated_at: now,
    version: 2,
  };
}

// What Mercato shows for a fact: its label, and the order's status once it is applied.
const LABELS = { in_transit: 'In transit' };
const STATUS_AFTER = { in_transit: 'shipped' };

// topic -> { seq, facts, subscribers: Set<WebSocket>, data }
const topics = new Map();

function topicState(topic) {
  let t = topics.get(topic);
  if (!t) {
    const order = topic.startsWith('order:') ? orderJson(topic.slice(6)) : {};
    t = { seq: 0, facts: 0, subscribers: new Set(), data: order };
    topics.set(topic, t);
  }
  return t;
}

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function onFact(id, fact, res) {
  if (!fact || typeof fact !== 'object' || typeof fact.type !== 'string'
      || typeof fact.source !== 'string' || typeof fact.external_id !== 'string') {
    send(res, 400, '{"code":"invalid_request"}');
    return;
  }
  const topic = `order:${id}`;
  const t = topicState(topic);
  t.seq += 1;
  t.facts += 1;
  const now = new Date().toISOString();
  const status = STATUS_AFTER[fact.type] || fact.type;
  t.data.status = status;
  t.data.updated_at = now;
  t.data.version += 1;
  // Serialised once; the same Buffer goes to every socket.
  const frame = Buffer.from(JSON.stringify({
    type: 'event',
    topic,
    seq: t.seq,
    data: {
      order_id: id,
      type: 'fact_recorded',
      status,
      at: now,
      event: {
        seq: t.facts,
        type: fact.type,
        source: fact.source,
        external_id: fact.external_id,
        occurred_at: fact.occurred_at || now,
        recorded_at: now,
        label: LABELS[fact.type] || fact.type,
        data: fact.data && typeof fact.data === 'object' ? fact.data : {},
      },
    },
  }));
  for (const ws of t.subscribers) ws.send(frame, { binary: false });
  send(res, 202, '{"accepted":true,"duplicate":false}');
}

const server = http.createServer((req, res) => {
  const path = req.url.split('?')[0];
  const m = /^\/v1\/orders\/([^/]+)\/events$/.exec(path);
  if (req.method === 'POST' && m) {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let fact;
      try {
        fact = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        send(res, 400, '{"code":"invalid_request"}');
        return;
      }
      onFact(decodeURIComponent(m[1]), fact, res);
    });
    return;
  }
  const order = /^\/v1\/orders\/([^/]+)$/.exec(path);
  if (req.method === 'GET' && order) {
    send(res, 200, JSON.stringify(topicState(`order:${decodeURIComponent(order[1])}`).data));
    return;
  }
  if (req.method === 'GET' && path === '/healthz') {
    send(res, 200, '{"status":"ok"}');
    return;
  }
  send(res, 404, '{"code":"not_found"}');
});
server.keepAliveTimeout = 60000;

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 1 << 20 });

server.on('upgrade', (req, socket, head) => {
  if (req.url.split('?')[0] !== '/v1/ws') {
    socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws));
});

function onConnection(ws) {
  const mine = new Set();
  ws.on('message', (raw) => {
    let msg;
    try {
      msg = JSON.parse(raw.toString('utf8'));
    } catch {
      ws.send('{"type":"error","code":"invalid_request"}');
      return;
    }
    if (msg.op === 'subscribe' && typeof msg.topic === 'string') {
      const t = topicState(msg.topic);
      t.subscribers.add(ws);
      mine.add(t);
      ws.send(JSON.stringify({ type: 'snapshot', topic: msg.topic, seq: t.seq, data: t.data }));
    } else if (msg.op === 'unsubscribe' && typeof msg.topic === 'string') {
      const t = topics.get(msg.topic);
      if (t) {
        t.subscribers.delete(ws);
        mine.delete(t);
      }
    } else if (msg.op === 'ping') {
      ws.send('{"type":"pong"}');
    } else {
      ws.send('{"type":"error","code":"invalid_request"}');
    }
  });
  ws.on('close', () => {
    for (const t of mine) t.subscribers.delete(ws);
  });
  ws.on('error', () => {});
}

function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`ws-baseline: ${e.message}`);
    process.exit(2);
  }
  server.listen({ port: args.port, host: '127.0.0.1', backlog: 4096 }, () => {
    const port = server.address().port;
    if (args.portFile) fs.writeFileSync(args.portFile, `${port}\n`);
    console.log(`listening on 127.0.0.1:${port}`);
  });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
}

main();
