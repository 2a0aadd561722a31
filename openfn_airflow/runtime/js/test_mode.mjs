// Test mode: every outbound HTTP request of a job is answered 200 `{}` inside this process and
// never sent.
//
// Requests are caught where every client ends up, whatever copy of undici an adaptor bundles
// (language-common makes its own undici Agent per origin, so a global dispatcher would miss
// them), Node's http/https or an old adaptor's axios: the TCP and TLS connection. A connection is
// a fake socket that reads each HTTP/1.1 request written to it and answers it; no socket is
// opened, no name resolved. Any other way to open a connection throws.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';

const BODY = '{}';
const HEADER_END = Buffer.from('\r\n\r\n');

class AnsweringSocket extends Duplex {
  constructor(options, secure, onRequest) {
    super();
    this.secure = secure;
    this.onRequest = onRequest;
    this.host = options.host || options.hostname || 'localhost';
    this.port = Number(options.port) || (secure ? 443 : 80);
    this.remoteAddress = '127.0.0.1';
    this.remotePort = this.port;
    this.remoteFamily = 'IPv4';
    this.localAddress = '127.0.0.1';
    this.localPort = 0;
    this.encrypted = secure || undefined;
    this.authorized = secure;
    this.alpnProtocol = secure ? 'http/1.1' : false;
    this.connecting = true;
    this.pending = Buffer.alloc(0);
    process.nextTick(() => {
      this.connecting = false;
      this.emit('connect');
      if (secure) this.emit('secureConnect');
      this.emit('ready');
    });
  }

  get readyState() {
    return this.destroyed ? 'closed' : this.connecting ? 'opening' : 'open';
  }

  _read() {}

  _write(chunk, encoding, callback) {
    this.pending = Buffer.concat([this.pending, Buffer.from(chunk, encoding)]);
    try {
      while (this.answerOne());
    } catch (error) {
      callback(error);
      return;
    }
    callback();
  }

  _final(callback) {
    this.push(null);
    callback();
  }

  // Answer the first complete request in `pending`; false until one is complete.
  answerOne() {
    const end = this.pending.indexOf(HEADER_END);
    if (end < 0) return false;
    const head = this.pending.subarray(0, end).toString('latin1').split('\r\n');
    const [method = 'GET', target = '/'] = head[0].split(' ');
    const headers = {};
    for (const line of head.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const bodyStart = end + HEADER_END.length;
    let bodyEnd = bodyStart;
    if (/chunked/i.test(headers['transfer-encoding'] || '')) {
      bodyEnd = chunkedEnd(this.pending, bodyStart);
      if (bodyEnd < 0) return false;
    } else if (headers['content-length']) {
      bodyEnd = bodyStart + Number(headers['content-length']);
      if (this.pending.length < bodyEnd) return false;
    }
    this.pending = this.pending.subarray(bodyEnd);
    const scheme = this.secure ? 'https' : 'http';
    const standard = this.port === (this.secure ? 443 : 80);
    const origin = `${scheme}://${headers.host || (standard ? this.host : `${this.host}:${this.port}`)}`;
    this.onRequest(method, /^https?:\/\//.test(target) ? target : `${origin}${target}`);
    const body = method === 'HEAD' ? '' : BODY;
    const response =
      'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n' +
      `content-length: ${BODY.length}\r\nconnection: keep-alive\r\n\r\n${body}`;
    setImmediate(() => {
      if (!this.destroyed) this.push(Buffer.from(response, 'latin1'));
    });
    return true;
  }

  setNoDelay() {
    return this;
  }

  setKeepAlive() {
    return this;
  }

  setTimeout(_ms, callback) {
    if (callback) this.once('timeout', callback);
    return this;
  }

  ref() {
    return this;
  }

  unref() {
    return this;
  }

  address() {
    return { address: this.localAddress, family: 'IPv4', port: this.localPort };
  }

  getPeerCertificate() {
    return {};
  }

  getProtocol() {
    return this.secure ? 'TLSv1.3' : null;
  }
}

// Where a chunked body ends (after its last, empty chunk and trailers), or -1 while incomplete.
function chunkedEnd(buffer, start) {
  let at = start;
  for (;;) {
    const lineEnd = buffer.indexOf('\r\n', at);
    if (lineEnd < 0) return -1;
    const size = parseInt(buffer.subarray(at, lineEnd).toString('latin1'), 16);
    if (Number.isNaN(size)) throw new Error('malformed chunked request body');
    at = lineEnd + 2;
    if (size === 0) {
      const trailersEnd = buffer.indexOf('\r\n', at);
      if (trailersEnd < 0) return -1;
      if (trailersEnd === at) return at + 2;
      const end = buffer.indexOf(HEADER_END, at);
      return end < 0 ? -1 : end + HEADER_END.length;
    }
    if (buffer.length < at + size + 2) return -1;
    at += size + 2;
  }
}

function connectionOptions(args) {
  // net.connect(options[, cb]), net.connect(port[, host][, cb]), tls.connect(port, host, options)
  const [first, second, third] = args;
  if (first && typeof first === 'object') return first;
  const options = typeof third === 'object' && third ? { ...third } : {};
  options.port = first;
  if (typeof second === 'string') options.host = second;
  else if (second && typeof second === 'object') Object.assign(options, second);
  return options;
}

/** Answer every request from now on in this process; `log(method, url)` hears of each one. */
export function interceptRequests(log) {
  const connector = (secure) =>
    function connect(...args) {
      const callback = args.find((arg) => typeof arg === 'function');
      const socket = new AnsweringSocket(connectionOptions(args), secure, log);
      if (callback) socket.once(secure ? 'secureConnect' : 'connect', callback);
      return socket;
    };
  net.connect = connector(false);
  net.createConnection = net.connect;
  tls.connect = connector(true);
  // Node's agents took their connect function when they were loaded.
  http.Agent.prototype.createConnection = function createConnection(options, callback) {
    return net.connect(options, callback);
  };
  https.Agent.prototype.createConnection = function createConnection(port, host, options) {
    return tls.connect(connectionOptions([port, host, options]));
  };
  // Whatever else opens a socket (a client holding its own reference to Socket) is refused.
  net.Socket.prototype.connect = function refuse() {
    throw new Error('Test mode: this job may not open network connections');
  };
  // Node's own fetch keeps its private connector: answer it here.
  globalThis.fetch = async (resource, init) => {
    const request = new Request(resource, init);
    log(request.method, request.url);
    return new Response(BODY, { status: 200, headers: { 'content-type': 'application/json' } });
  };
}
