// An outside developer's client of the Takhti protocol, written from the published docs alone
// (README.md, docs/protocol.md, docs/asyncapi.json, docs/openapi.json, docs/quiz-format.md).
//
//   node tests/outside/client.mjs URL TEACHER PASSWORD
//
// It plays a lesson (login, class, joins, a pipelined stroke, retries, a poll, two quizzes),
// checks every answer against the published schemas and error codes, then attacks each input
// the way a curious student would and checks that the class keeps working for the others.
// Prints one line per check; `FAIL` lines are contract breaks (exit 1), `FINDING` lines are
// places where the docs are not clear enough or disagree with the server in a way a client can
// live with. The last line is a JSON summary.

import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { check as checkSchema } from "./schema.mjs";

const require = createRequire(new URL("../../webclient/package.json", import.meta.url));
const { io } = require("socket.io-client");

const [URL_ARG, TEACHER, PASSWORD] = process.argv.slice(2);
if (!URL_ARG || !TEACHER || !PASSWORD) {
  console.error("usage: node client.mjs URL TEACHER PASSWORD");
  process.exit(2);
}
const BASE = URL_ARG.replace(/\/$/, "");
const DOCS = new URL("../../docs/", import.meta.url);
const ASYNCAPI = JSON.parse(readFileSync(new URL("asyncapi.json", DOCS), "utf8"));
const OPENAPI = JSON.parse(readFileSync(new URL("openapi.json", DOCS), "utf8"));
const PROTOCOL_MD = readFileSync(new URL("protocol.md", DOCS), "utf8");
const QUIZ_FORMAT_MD = readFileSync(new URL("quiz-format.md", DOCS), "utf8");
const MESSAGES = ASYNCAPI.channels.class.messages;
const PROTOCOL_VERSION = Number(ASYNCAPI.info.version);

// The error-code table of protocol.md: code -> HTTP status.
const ERROR_CODES = new Map();
for (const m of PROTOCOL_MD.split("## Error codes")[1].matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)) {
  ERROR_CODES.set(m[1], Number(m[2]));
}
// The rate-limit table: bucket -> [per second, burst].
const CLIENT_EVENTS = Object.keys(MESSAGES).filter((name) => MESSAGES[name]["x-roles"]);

// ---------------------------------------------------------------- reporting

const fails = [];
const findings = new Map();
let passes = 0;

function pass(what) {
  passes += 1;
  console.log(`ok    ${what}`);
}
function fail(what, detail) {
  fails.push({ what, detail });
  console.log(`FAIL  ${what}: ${detail}`);
}
function expect(cond, what, detail = "") {
  if (cond) pass(what);
  else fail(what, typeof detail === "function" ? detail() : detail);
  return cond;
}
/** A place where the docs do not say enough, or say something else than the server does. */
function finding(id, doc, server) {
  if (findings.has(id)) return;
  findings.set(id, { doc, server });
  console.log(`FINDING ${id}\n    docs:   ${doc}\n    server: ${server}`);
}
const j = (v) => {
  const text = JSON.stringify(v);
  return text && text.length > 300 ? `${text.slice(0, 297)}...` : text;
};

// ---------------------------------------------------------------- HTTP

async function http(method, path, { body, token, headers = {}, raw = false } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  let payload;
  if (body !== undefined) {
    payload = raw ? body : JSON.stringify(body);
    if (!raw && !h["content-type"]) h["content-type"] = "application/json";
  }
  const response = await fetch(BASE + path, { method, headers: h, body: payload });
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text, headers: response.headers };
}

function openapiResponse(path, method, status) {
  return OPENAPI.paths[path]?.[method]?.responses?.[String(status)];
}

/** Checks an HTTP answer: the status is declared for the route and the body fits its schema. */
function checkHttp(what, route, method, res, wantStatus) {
  const declared = openapiResponse(route, method, res.status);
  if (!declared) {
    finding(`http-status:${method.toUpperCase()} ${route} ${res.status}`,
      `openapi.json declares ${Object.keys(OPENAPI.paths[route]?.[method]?.responses ?? {}).join(", ")} for ${method.toUpperCase()} ${route}`,
      `answered ${res.status} (${what})`);
  }
  const schema = declared?.content?.["application/json"]?.schema;
  if (schema && res.json !== undefined) {
    const problems = checkSchema(schema, res.json, { document: OPENAPI });
    expect(problems.length === 0, `${what}: body fits openapi`, () => problems.join("; "));
  }
  if (res.status >= 400) checkHttpError(what, res);
  if (wantStatus !== undefined) {
    const wants = Array.isArray(wantStatus) ? wantStatus : [wantStatus];
    expect(wants.includes(res.status), `${what}: status ${wants.join("|")}`, () => `got ${res.status} ${j(res.json ?? res.text)}`);
  }
  return res;
}

function checkHttpError(what, res) {
  const code = res.json?.error?.code;
  if (!expect(res.json?.ok === false && typeof code === "string", `${what}: error body {ok:false, error}`, () => `got ${res.status} ${j(res.json ?? res.text.slice(0, 200))}`)) return;
  expect(ERROR_CODES.has(code), `${what}: ${code} is a documented code`, `undocumented ${code}`);
  expect(ERROR_CODES.get(code) === res.status, `${what}: ${code} has its documented status ${ERROR_CODES.get(code)}`, `status ${res.status}`);
  if (res.status === 429) expect(res.headers.get("retry-after") !== null, `${what}: 429 carries Retry-After`);
}

// ---------------------------------------------------------------- Socket.IO

/** A connected client that records every event it receives and checks each against the docs. */
class Client {
  constructor(label) {
    this.label = label;
    this.events = [];
    this.bare = [];
    this.lastSeq = 0;
  }

  static async open(label, auth) {
    const client = new Client(label);
    await client.connect(auth);
    return client;
  }

  connect(auth) {
    return new Promise((resolve, reject) => {
      const socket = io(BASE, { auth, transports: ["websocket"], reconnection: false, forceNew: true });
      this.socket = socket;
      socket.onAny((event, data) => this.received(event, data));
      socket.once("connect", () => resolve(this));
      socket.once("connect_error", (err) => {
        socket.close();
        reject(err);
      });
    });
  }

  received(event, data) {
    const spec = MESSAGES[event];
    if (!spec || spec["x-roles"]) {
      finding(`server-event:${event}`, "protocol.md 'Server → client events' lists every server event", `${this.label} received undocumented '${event}' ${j(data)}`);
      return;
    }
    if (spec["x-logged"] === false) {
      // "Events that are not logged (`poll_tally`) arrive as bare `data`".
      this.bare.push([event, data]);
      const problems = checkSchema(spec.payload, data);
      if (problems.length) fail(`${this.label} ${event} fits asyncapi`, problems.join("; "));
      return;
    }
    this.events.push(data);
    checkEnvelope(`${this.label} live ${event}`, event, data);
    if (typeof data?.seq === "number") this.lastSeq = Math.max(this.lastSeq, data.seq);
  }

  /** Emit and wait for the ack (a timeout is an ack that never came: a FAIL). */
  async call(event, payload, { timeout = 4000 } = {}) {
    try {
      return await this.socket.timeout(timeout).emitWithAck(event, payload);
    } catch (err) {
      return { ok: "NO-ACK", error: { code: "NO-ACK", message: String(err) } };
    }
  }

  /** Like call, but waits out RATE_LIMITED as protocol.md says (retry_after_s) and sends again. */
  async send(event, payload, opts) {
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const ack = await this.call(event, payload, opts);
      if (ack?.error?.code !== "RATE_LIMITED") return ack;
      await new Promise((r) => setTimeout(r, Math.max(50, (ack.error.retry_after_s ?? 0.2) * 1000)));
    }
    return { ok: false, error: { code: "RATE_LIMITED", message: "kept rate limited" } };
  }

  /** An event sent as a raw Socket.IO packet (names and JSON the library would not send). */
  raw(text, { timeout = 2000 } = {}) {
    Client.ackId = (Client.ackId ?? 90000) + 1;
    const id = Client.ackId;
    const engine = this.socket.io.engine;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        engine.off("message", onMessage);
        resolve({ ok: "NO-ACK", error: { code: "NO-ACK", message: "no ack" } });
      }, timeout);
      const onMessage = (data) => {
        const head = `3${id}[`;
        if (typeof data === "string" && data.startsWith(head)) {
          clearTimeout(timer);
          engine.off("message", onMessage);
          resolve(JSON.parse(data.slice(head.length - 1))[0]);
        }
      };
      engine.on("message", onMessage);
      // Engine.IO message; Socket.IO EVENT packet (type 2) with an ack id, namespace "/".
      engine.send(`2${id}${text}`);
    });
  }

  waitFor(predicate, what, timeout = 4000) {
    const found = this.events.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => {
      const started = Date.now();
      const tick = () => {
        const hit = this.events.find(predicate);
        if (hit) return resolve(hit);
        if (Date.now() - started > timeout) {
          fail(`${this.label} receives ${what}`, `not within ${timeout} ms`);
          return resolve(undefined);
        }
        setTimeout(tick, 10);
      };
      tick();
    });
  }

  close() {
    this.socket?.close();
  }
}

const ENVELOPE_KEYS = new Set(["seq", "type", "by", "ts", "data", "cid", "aud"]);

/** A lesson-log entry `{seq, type, by, ts, data, cid?, aud?}` whose data fits its asyncapi schema. */
function checkEnvelope(what, event, entry) {
  const spec = MESSAGES[event];
  const problems = [];
  if (!entry || typeof entry !== "object") problems.push("not an object");
  else {
    for (const key of Object.keys(entry)) if (!ENVELOPE_KEYS.has(key)) problems.push(`undocumented key '${key}'`);
    if (!Number.isInteger(entry.seq)) problems.push("seq is not an integer");
    if (entry.type !== event) problems.push(`type '${entry.type}' is not the event name '${event}'`);
    if (!entry.by || typeof entry.by.role !== "string" || typeof entry.by.id !== "string") problems.push(`by ${j(entry.by)}`);
    const ink = event === "stroke_extended";
    if (!ink && !Number.isInteger(entry.ts)) problems.push("ts missing");
    if (!ink && entry.by && typeof entry.by.name !== "string") problems.push("by.name missing");
    if (entry.aud !== undefined && !["all", "teachers", "author"].includes(entry.aud)) problems.push(`aud '${entry.aud}'`);
    if (spec["x-audience"] !== "varies" && entry.aud !== undefined && entry.aud !== spec["x-audience"]) {
      problems.push(`aud '${entry.aud}' but the audience column says '${spec["x-audience"]}'`);
    }
    problems.push(...checkSchema(spec.payload, entry));
  }
  if (problems.length) fail(`${what} fits the documented log entry`, problems.join("; "));
}

/** Checks an ack: `{ok: true, ...x-ack}` or a documented error. Answers the ack. */
function checkAck(what, event, ack, want = "ok") {
  if (ack?.ok === "NO-ACK") {
    fail(`${what}: acked`, "no ack within the timeout");
    return ack;
  }
  if (want === "ok") {
    if (!expect(ack?.ok === true, `${what}: ok`, () => j(ack))) return ack;
    const schema = MESSAGES[event]?.["x-ack"];
    if (schema) {
      // protocol.md: an ack is `{"ok": true, ...fields}`; the x-ack schemas hold only the fields.
      const declaresOk = "ok" in (schema.properties ?? {});
      const { ok, ...rest } = ack;
      const fields = declaresOk ? ack : rest;
      if (!declaresOk && schema.additionalProperties === false) {
        finding(`x-ack-ok:${event}`, `protocol.md: acks are '{"ok": true, ...fields}'; asyncapi ${event} x-ack`,
          `the ${event} x-ack schema has additionalProperties:false and no 'ok', so the real ack does not validate against it as published`);
      }
      const problems = checkSchema(schema, fields);
      expect(problems.length === 0, `${what}: ack fits asyncapi x-ack`, () => problems.join("; "));
      const declared = new Set(["ok", ...Object.keys(schema.properties ?? {})]);
      for (const key of Object.keys(ack)) {
        if (!declared.has(key)) finding(`ack-field:${event}.${key}`, `asyncapi ${event} x-ack declares ${[...declared].join(", ")}`, `the ack also carries '${key}'`);
      }
    }
    return ack;
  }
  checkErrorAck(what, ack, want);
  return ack;
}

function checkErrorAck(what, ack, want) {
  const wants = Array.isArray(want) ? want : [want];
  const error = ack?.error;
  if (!expect(ack?.ok === false && error && typeof error.code === "string" && typeof error.message === "string",
    `${what}: error ack {ok:false, error:{code, message}}`, () => j(ack))) return;
  expect(ERROR_CODES.has(error.code), `${what}: ${error.code} is a documented code`);
  const extra = Object.keys(error).filter((k) => !["code", "message", "field", "expected_offset", "retry_after_s"].includes(k));
  expect(extra.length === 0, `${what}: error has only documented keys`, () => extra.join(", "));
  if (error.code === "GAP") expect(Number.isInteger(error.expected_offset), `${what}: GAP carries expected_offset`);
  if (error.code === "RATE_LIMITED") expect(typeof error.retry_after_s === "number", `${what}: RATE_LIMITED carries retry_after_s`);
  if (!wants.includes("*")) expect(wants.includes(error.code), `${what}: code ${wants.join("|")}`, () => `got ${error.code}: ${error.message}`);
  expect(JSON.stringify(ack).length < 2000 && !/Traceback|File "/.test(error.message), `${what}: the error is short and has no traceback`, () => j(ack));
}

/** A retry must answer the stored first answer: same fields, `duplicate: true`. */
function checkSameAnswer(what, first, again) {
  const { duplicate: d1, ...a } = first ?? {};
  const { duplicate: d2, ...b } = again ?? {};
  expect(d1 === false, `${what}: first answer duplicate:false`, () => j(first));
  expect(d2 === true, `${what}: retry duplicate:true`, () => j(again));
  expect(JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b)), `${what}: retry answers the same seq and fields`, () => `${j(first)} vs ${j(again)}`);
}

function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys(value[k])]));
  return value;
}

const until = async (predicate, timeout = 3000) => {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeout) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
};

// Rounding the docs promise: x, y to 0.1, pressure to 0.001, t to whole ms.
const round = (v, step) => Math.round(v / step) * step;
const roundPoint = ([x, y, p, t]) => [round(x, 0.1), round(y, 0.1), round(p, 0.001), Math.round(t)];
const close = (a, b) => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) < 1e-6);

// ---------------------------------------------------------------- the lesson

async function main() {
  const started = Date.now();
  const uid = `${process.pid}-${Date.now()}`;

  // -- HTTP: health, setup, login ------------------------------------------------------------
  checkHttp("GET /healthz", "/healthz", "get", await http("GET", "/healthz"), 200);
  checkHttp("GET /api/setup", "/api/setup", "get", await http("GET", "/api/setup"), 200);
  checkHttp("login with a wrong password", "/api/login", "post",
    await http("POST", "/api/login", { body: { name: TEACHER, password: `${PASSWORD}-wrong` } }), 401);
  checkHttp("login with a body that is not JSON", "/api/login", "post",
    await http("POST", "/api/login", { body: "{not json", raw: true, headers: { "content-type": "application/json" } }), 400);
  const login = checkHttp("login", "/api/login", "post",
    await http("POST", "/api/login", { body: { name: TEACHER, password: PASSWORD } }), 200);
  const token = login.json.token;

  // -- HTTP: a class with an Idempotency-Key ---------------------------------------------------
  const classKey = `class-${uid}`;
  const created = checkHttp("create class", "/api/classes", "post",
    await http("POST", "/api/classes", { token, body: { title: "Outside maths" }, headers: { "Idempotency-Key": classKey } }), 201);
  const again = checkHttp("create class retry (same Idempotency-Key)", "/api/classes", "post",
    await http("POST", "/api/classes", { token, body: { title: "Outside maths" }, headers: { "Idempotency-Key": classKey } }), 200);
  expect(j(again.json) === j(created.json), "class retry answers the first result", () => `${j(created.json)} vs ${j(again.json)}`);
  checkHttp("create class, same key, other title", "/api/classes", "post",
    await http("POST", "/api/classes", { token, body: { title: "Other" }, headers: { "Idempotency-Key": classKey } }), 409);
  const conflict = await http("POST", "/api/classes", { token, body: { title: "Other" }, headers: { "Idempotency-Key": classKey } });
  expect(conflict.json?.error?.code === "IDEMPOTENCY_CONFLICT", "class key reuse is IDEMPOTENCY_CONFLICT", () => j(conflict.json));
  if (!(OPENAPI.paths["/api/classes"].post.parameters ?? []).some((p) => p.name?.toLowerCase() === "idempotency-key")) {
    finding("openapi-idempotency-header", "protocol.md: 'With an `Idempotency-Key` header, a retry answers the first result (status 200)'",
      "openapi.json declares neither the Idempotency-Key header parameter nor the 200 retry answer of POST /api/classes (or /devices, /join, /quizzes); a generated client cannot send the header");
  }
  checkHttp("create class without a token", "/api/classes", "post", await http("POST", "/api/classes", { body: { title: "x" } }), 401);
  checkHttp("create class with an empty title", "/api/classes", "post", await http("POST", "/api/classes", { token, body: { title: "" } }), 400);
  const classId = created.json.class_id;
  const joinCode = created.json.join_code;

  // -- HTTP: students join ---------------------------------------------------------------------
  const tabletKey = `tablet-${uid}`;
  const joinA = checkHttp("join Ali (Idempotency-Key)", "/api/join", "post",
    await http("POST", "/api/join", { body: { join_code: joinCode, name: "  Ali  " }, headers: { "Idempotency-Key": tabletKey } }), 201);
  expect(joinA.json.name === "Ali", "join trims the name", () => j(joinA.json.name));
  const joinA2 = await http("POST", "/api/join", { body: { join_code: joinCode, name: "  Ali  " }, headers: { "Idempotency-Key": tabletKey } });
  checkHttp("join retry (same Idempotency-Key)", "/api/join", "post", joinA2, [200, 201]);
  expect(joinA2.json?.student_id === joinA.json.student_id, "join retry joins as the same student", () => j(joinA2.json));
  const joinRetryDeclared = Object.keys(OPENAPI.paths["/api/join"].post.responses).includes(String(joinA2.status));
  if (!joinRetryDeclared) fail("the join retry's status is declared", `${joinA2.status}`);
  if (joinA2.status !== 200 && !OPENAPI.paths["/api/join"].post.summary.includes(`(status ${joinA2.status} again)`)) {
    finding("join-retry-status", "protocol.md POST /api/classes, /devices, /quizzes: 'a retry answers the first result (status 200)'; POST /api/join only says 'a retry joins as the same student'",
      `a join retry answers ${joinA2.status} (a class retry answers 200): a client cannot tell a retry from a new join by the status`);
  }
  checkHttp("join retry with another name", "/api/join", "post",
    await http("POST", "/api/join", { body: { join_code: joinCode, name: "Sara" }, headers: { "Idempotency-Key": tabletKey } }), 409);
  const joinB = checkHttp("join Bilal (no key)", "/api/join", "post", await http("POST", "/api/join", { body: { join_code: joinCode, name: "Bilal" } }), 201);
  const joinC = checkHttp("join Chand the attacker (no key)", "/api/join", "post", await http("POST", "/api/join", { body: { join_code: joinCode, name: "Chand" } }), 201);
  {
    // JoinBody: `name` (string, minLength=1, maxLength=200).
    const long = await http("POST", "/api/join", { body: { join_code: joinCode, name: "n".repeat(120) } });
    checkHttp("join with a 120-character name", "/api/join", "post", long, [201, 400]);
    const documented = Number(/at most (\d+) characters/.exec(OPENAPI.components.schemas.JoinBody.properties.name.description ?? "")?.[1] ?? 200);
    const enforced = Number(/longer than (\d+) characters/.exec(long.json?.error?.message ?? "")?.[1] ?? 200);
    if (long.status === 400 && enforced !== documented) {
      finding("join-name-length", "protocol.md JoinBody: '`name` | string (minLength=1, maxLength=200)'",
        `a 120-character name is refused: ${long.json?.error?.message}`);
    }
    const newline = await http("POST", "/api/join", { body: { join_code: joinCode, name: "two\nlines" } });
    const nul = await http("POST", "/api/join", { body: { join_code: joinCode, name: "nul\u0000" } });
    checkHttp("join with a NUL in the name", "/api/join", "post", nul, 400);
    if (newline.status === 201 && /\n/.test(newline.json?.name ?? "")) {
      finding("join-name-newline", "protocol.md JoinBody: name (no rule about characters given)",
        `a name with a NUL is refused ('${nul.json?.error?.message}') but one with a newline is accepted, stored as ${j(newline.json?.name)}`);
    }
    const key = await http("POST", "/api/join", { body: { join_code: joinCode, name: "Key" }, headers: { "Idempotency-Key": "tablet id with spaces" } });
    checkHttp("join with an Idempotency-Key of spaces", "/api/join", "post", key, [201, 400]);
    const header = (OPENAPI.paths["/api/join"].post.parameters ?? []).find((p) => p.in === "header" && p.name.toLowerCase() === "idempotency-key");
    if (header?.schema?.pattern) {
      expect(key.status === 400 && key.json?.error?.code === "INVALID_PAYLOAD", "an Idempotency-Key outside the documented pattern is INVALID_PAYLOAD", () => `${key.status} ${j(key.json)}`);
    } else if (key.status === 400) {
      finding("idempotency-key-format", "protocol.md: 'With an `Idempotency-Key` header (made once per tablet)' (no format given; openapi has no header at all)",
        `the key must be ${key.json?.error?.message?.replace(/^Idempotency-Key is /, "")}: other keys are refused with INVALID_PAYLOAD`);
    }
  }
  checkHttp("join with a wrong code", "/api/join", "post", await http("POST", "/api/join", { body: { join_code: "ZZZZZZZZ", name: "x" } }), 404);
  checkHttp("join with a number as name", "/api/join", "post", await http("POST", "/api/join", { body: { join_code: joinCode, name: 12 } }), 400);
  checkHttp("join with a 100 KB body", "/api/join", "post", await http("POST", "/api/join", { body: { join_code: joinCode, name: "x".repeat(100_000) } }), 413);
  checkHttp("join with an array body", "/api/join", "post", await http("POST", "/api/join", { body: [joinCode, "x"] }), 400);

  // -- connecting ------------------------------------------------------------------------------
  const teacherAuth = { token, class_id: classId, protocol_version: PROTOCOL_VERSION };
  const teacher = await Client.open("teacher", teacherAuth);
  const observer = await Client.open("teacher2", teacherAuth); // a second teacher tab: sees everything, sends only retries
  const ali = await Client.open("ali", { token: joinA.json.token, protocol_version: PROTOCOL_VERSION });
  const bilal = await Client.open("bilal", { token: joinB.json.token, protocol_version: PROTOCOL_VERSION });
  const chand = await Client.open("chand", { token: joinC.json.token, protocol_version: PROTOCOL_VERSION });
  pass("teacher, second teacher tab and three students connect with protocol_version");

  for (const [what, auth, code] of [
    ["a newer protocol_version", { token: joinA.json.token, protocol_version: PROTOCOL_VERSION + 1 }, "OUTDATED_CLIENT"],
    ["a junk token", { token: "junk", protocol_version: PROTOCOL_VERSION }, "UNAUTHORIZED"],
    ["no auth", {}, "UNAUTHORIZED"],
    ["a teacher without class_id", { token, protocol_version: PROTOCOL_VERSION }, "INVALID_PAYLOAD"],
    ["a teacher with another class_id", { token, class_id: "c_nope", protocol_version: PROTOCOL_VERSION }, ["NOT_FOUND", "FORBIDDEN"]],
    ["protocol_version as a string", { token: joinA.json.token, protocol_version: "1" }, "INVALID_PAYLOAD"],
  ]) {
    try {
      const c = await Client.open("refused", auth);
      c.close();
      fail(`connect with ${what} is refused`, "it was accepted");
    } catch (err) {
      const data = err.data;
      const ok = data && typeof data.code === "string" && typeof data.message === "string";
      expect(ok, `connect with ${what}: connect_error {message, data:{code, message}}`, () => j({ message: err.message, data }));
      if (ok) {
        expect(ERROR_CODES.has(data.code), `connect with ${what}: ${data.code} is documented`);
        const wants = Array.isArray(code) ? code : [code];
        expect(wants.includes(data.code), `connect with ${what}: ${wants.join("|")}`, () => data.code);
      }
    }
  }

  // -- the snapshot ----------------------------------------------------------------------------
  for (const [who, client, role] of [["teacher", teacher, "teacher"], ["ali", ali, "student"]]) {
    const snap = checkAck(`${who} class_snapshot`, "class_snapshot", await client.send("class_snapshot", {}));
    expect(snap.you?.role === role, `${who} snapshot says who they are`, () => j(snap.you));
    expect(snap.class_id === classId && snap.protocol_version === PROTOCOL_VERSION, `${who} snapshot names the class and version`);
    expect(role === "teacher" ? Array.isArray(snap.state?.core?.students) : snap.state?.core?.students == null,
      `${who} snapshot core.students only for teachers`);
  }
  const snapNoPayload = await teacher.raw('["class_snapshot"]');
  checkAck("class_snapshot with no payload at all", "class_snapshot", snapNoPayload);

  // -- a stroke with pipelined stroke_extend batches -------------------------------------------
  const strokeId = `stroke-${uid}`;
  const pts = [];
  for (let i = 0; i < 8 + 10 * 16; i += 1) pts.push([100.123 + i * 3.337, 200.456 + i * 1.21, 0.5004 + (i % 5) * 0.1, i * 8.4]);
  const start = checkAck("stroke_start with the first batch", "stroke_start",
    await teacher.send("stroke_start", { stroke_id: strokeId, page_id: "page-1", tool: "pen", color: "#1a2b3c", width: 4, points: pts.slice(0, 8) }));
  const batches = [];
  for (let offset = 8; offset < pts.length; offset += 16) batches.push({ stroke_id: strokeId, offset, points: pts.slice(offset, offset + 16) });
  // Pipelined: every batch is emitted before any ack is awaited.
  const batchAcks = await Promise.all(batches.map((b) => teacher.call("stroke_extend", b)));
  batchAcks.forEach((ack, i) => checkAck(`pipelined stroke_extend #${i}`, "stroke_extend", ack));
  const seqs = batchAcks.map((a) => a.seq);
  expect(seqs.every((s, i) => i === 0 ? s > start.seq : s > seqs[i - 1]), "pipelined batches are appended in the order sent", () => j(seqs));
  const end = checkAck("stroke_end", "stroke_end", await teacher.send("stroke_end", { stroke_id: strokeId, length: pts.length }));
  await bilal.waitFor((e) => e.type === "stroke_ended" && e.data.id === strokeId, "stroke_ended");
  const flat = [];
  for (const e of bilal.events.filter((e) => ["stroke_started", "stroke_extended"].includes(e.type) && e.data.id === strokeId)) flat.push(...e.data.pts);
  expect(close(flat, pts.flatMap(roundPoint)), "a student receives every point, rounded as documented", () => `${flat.length} numbers; first ${j(flat.slice(0, 8))} vs ${j(pts.slice(0, 2).flatMap(roundPoint))}`);

  // -- retries: same client ids answer the stored first answer ---------------------------------
  const startPayload = { stroke_id: strokeId, page_id: "page-1", tool: "pen", color: "#1a2b3c", width: 4, points: pts.slice(0, 8) };
  checkSameAnswer("stroke_start retry", start, checkAck("stroke_start retry", "stroke_start", await teacher.send("stroke_start", startPayload)));
  checkSameAnswer("stroke_extend retry from a second connection", batchAcks[3],
    checkAck("stroke_extend retry (2nd tab)", "stroke_extend", await observer.send("stroke_extend", batches[3])));
  checkSameAnswer("stroke_end retry", end, checkAck("stroke_end retry", "stroke_end", await teacher.send("stroke_end", { stroke_id: strokeId, length: pts.length })));
  checkAck("stroke_start retry with another colour", "stroke_start", await teacher.send("stroke_start", { ...startPayload, color: "#ffffff" }), "IDEMPOTENCY_CONFLICT");
  checkAck("stroke_end retry with another length", "stroke_end", await teacher.send("stroke_end", { stroke_id: strokeId, length: 5 }), "IDEMPOTENCY_CONFLICT");
  {
    const other = await teacher.send("stroke_extend", { ...batches[1], points: batches[1].points.map(([x, y, p, t]) => [x + 50, y, p, t]) });
    checkAck("stroke_extend retry (same offset) with other points", "stroke_extend", other, ["IDEMPOTENCY_CONFLICT", "CONFLICT"]);
    if (other?.error?.code === "CONFLICT" && !PROTOCOL_MD.includes("one whose overlap differs from them is refused with `CONFLICT`")) {
      finding("stroke-extend-conflict-code", "protocol.md IDEMPOTENCY_CONFLICT: 'A retry reused a client id (idempotency key) with another payload than the stored one.'; Points and strokes: 'a batch it already has (a retry) is acked again'",
        "a stroke_extend batch at an offset the server has, with other points, answers CONFLICT (stroke_start / stroke_end retries with another payload answer IDEMPOTENCY_CONFLICT)");
    }
  }
  checkAck("stroke_extend beyond the end", "stroke_extend", await teacher.send("stroke_extend", { stroke_id: strokeId, offset: pts.length + 5, points: [[1, 1, 0.5, 0]] }), ["GAP", "CONFLICT"]);
  const gapStroke = `gap-${uid}`;
  checkAck("second stroke start", "stroke_start", await teacher.send("stroke_start", { stroke_id: gapStroke, page_id: "page-1", tool: "highlighter", color: "#00ff00", width: 10 }));
  const gap = checkAck("a batch after a lost batch", "stroke_extend", await teacher.send("stroke_extend", { stroke_id: gapStroke, offset: 4, points: [[1, 1, 0.5, 0]] }), "GAP");
  expect(gap?.error?.expected_offset === 0, "GAP says to resend from 0", () => j(gap));
  checkAck("stroke_end with more points than sent", "stroke_end", await teacher.send("stroke_end", { stroke_id: gapStroke, length: 3 }), "GAP");
  checkAck("resend from expected_offset", "stroke_extend", await teacher.send("stroke_extend", { stroke_id: gapStroke, offset: 0, points: [[1, 1, 0.5, 0], [2, 2, 0.5, 1], [3, 3, 0.5, 2]] }));
  checkAck("second stroke end", "stroke_end", await teacher.send("stroke_end", { stroke_id: gapStroke, length: 3 }));

  const hand = checkAck("ali raises a hand", "hand_raise", await ali.send("hand_raise", { raised: true, client_id: `hand-${uid}` }));
  checkAck("hand_raise with the same client_id, another payload", "hand_raise", await ali.send("hand_raise", { raised: false, client_id: `hand-${uid}` }), "IDEMPOTENCY_CONFLICT");
  checkAck("hand_raise without client_id", "hand_raise", await ali.send("hand_raise", { raised: true }), "INVALID_PAYLOAD");

  // -- a poll ----------------------------------------------------------------------------------
  const pollPayload = { kind: "single", question: "Favourite colour?", options: ["Red", "Green", "Blue"], client_id: `poll-${uid}` };
  const poll = checkAck("poll_create", "poll_create", await teacher.send("poll_create", pollPayload));
  checkSameAnswer("poll_create retry", poll, await teacher.send("poll_create", pollPayload));
  checkAck("poll_create same client_id, other question", "poll_create", await teacher.send("poll_create", { ...pollPayload, question: "Other?" }), "IDEMPOTENCY_CONFLICT");
  const pollId = poll.poll_id;
  checkAck("poll_open", "poll_open", await teacher.send("poll_open", { poll_id: pollId, client_id: `poll-open-${uid}` }));
  await ali.waitFor((e) => e.type === "poll_opened" && e.data.poll_id === pollId, "poll_opened");
  const vote = checkAck("ali votes Green", "poll_vote", await ali.send("poll_vote", { poll_id: pollId, vote_id: `vote-a1-${uid}`, option: 1 }));
  checkAck("bilal votes Blue", "poll_vote", await bilal.send("poll_vote", { poll_id: pollId, vote_id: `vote-b1-${uid}`, option: 2 }));
  checkSameAnswer("poll_vote retry", vote, await ali.send("poll_vote", { poll_id: pollId, vote_id: `vote-a1-${uid}`, option: 1 }));
  checkAck("poll_vote same vote_id, other option", "poll_vote", await ali.send("poll_vote", { poll_id: pollId, vote_id: `vote-a1-${uid}`, option: 0 }), "IDEMPOTENCY_CONFLICT");
  checkAck("ali changes the vote to Blue", "poll_vote", await ali.send("poll_vote", { poll_id: pollId, vote_id: `vote-a2-${uid}`, option: 2 }));
  checkAck("a vote for option 7 of 3", "poll_vote", await bilal.send("poll_vote", { poll_id: pollId, vote_id: `vote-b2-${uid}`, option: 7 }), "INVALID_PAYLOAD");
  await until(() => teacher.bare.some(([e, d]) => e === "poll_tally" && d?.poll_id === pollId && (d.tally ?? d).responses === 2));
  const tallies = teacher.bare.filter(([e]) => e === "poll_tally");
  expect(tallies.length > 0, "the teacher gets a live poll_tally", () => "none");
  checkAck("poll_close", "poll_close", await teacher.send("poll_close", { poll_id: pollId, client_id: `poll-close-${uid}` }));
  {
    const late = await bilal.send("poll_vote", { poll_id: pollId, vote_id: `vote-b3-${uid}`, option: 0 });
    const documentedLate = /until the poll closes \(then ([A-Z_]+)\)/.exec(MESSAGES.poll_vote.summary ?? "")?.[1];
    checkAck("a vote after the poll closed", "poll_vote", late, documentedLate ?? "*");
    if (!documentedLate) finding("closed-poll-code", "protocol.md poll_close: 'Stop taking votes.' (no code is given for a late vote; TOO_LATE speaks of questions)",
      `a vote after poll_close answers ${late?.error?.code}: ${late?.error?.message}`);
  }
  checkAck("poll_show_results", "poll_show_results", await teacher.send("poll_show_results", { poll_id: pollId, client_id: `poll-show-${uid}` }));
  const shown = await bilal.waitFor((e) => e.type === "poll_results_shown" && e.data.poll_id === pollId, "poll_results_shown");
  expect(j(shown?.data?.tally?.counts) === j([0, 0, 2]) && shown?.data?.tally?.responses === 2, "the shown tally counts a changed vote once", () => j(shown?.data?.tally));

  // -- quizzes: the file form over HTTP ---------------------------------------------------------
  const yamlSample = readFileSync(new URL("samples/quiz.yaml", DOCS), "utf8");
  // quiz-format.md, Pictures: the samples show samples/circle.png; send it with them as a form.
  const circle = readFileSync(new URL("samples/circle.png", DOCS));
  const withPicture = (name, text, type) => {
    const form = new FormData();
    form.append("quiz", new Blob([text], { type }), name);
    form.append("picture", new Blob([circle], { type: "image/png" }), "circle.png");
    return form;
  };
  const alone = await http("POST", `/api/classes/${classId}/quizzes/parse?filename=quiz.yaml`, { token, body: yamlSample, raw: true, headers: { "content-type": "application/yaml" } });
  expect(alone.status === 400 && alone.json?.error?.code === "PICTURE_MISSING" && alone.json?.error?.field === "circle.png",
    "quiz-format.md: a sample sent without its picture is refused with PICTURE_MISSING naming circle.png", () => `${alone.status} ${j(alone.json)}`);
  const parsed = checkHttp("parse samples/quiz.yaml with circle.png", "/api/classes/{class_id}/quizzes/parse", "post",
    await http("POST", `/api/classes/${classId}/quizzes/parse`, { token, body: withPicture("quiz.yaml", yamlSample, "application/yaml"), raw: true }), 200);
  const docExample = JSON.parse(QUIZ_FORMAT_MD.split("The YAML example above, in the protocol form")[1].split("```json")[1].split("```")[0]);
  const q0 = parsed.json?.quiz?.questions?.[0];
  expect(q0?.type === "single" && j(q0?.correct) === "[1]" && j(q0?.options) === j(["54", "56", "64", "48"]), "parse answers letters as option indexes from 0", () => j(q0));
  const q1 = parsed.json?.quiz?.questions?.[1];
  expect(q1?.type === "multiple" && j(q1?.correct) === "[0,2]", "parse answers [A, C] as [0, 2]", () => j(q1));
  const csvSample = readFileSync(new URL("samples/quiz.csv", DOCS), "utf8");
  const csvParsed = await http("POST", `/api/classes/${classId}/quizzes/parse`, { token, body: withPicture("quiz.csv", csvSample, "text/csv"), raw: true });
  const jsonSample = JSON.parse(readFileSync(new URL("samples/quiz.json", DOCS), "utf8"));
  const jsonParsed = await http("POST", `/api/classes/${classId}/quizzes/parse`, { token, body: withPicture("quiz.json", JSON.stringify(jsonSample), "application/json"), raw: true });
  expect(j(sortKeys(csvParsed.json?.quiz?.questions)) === j(sortKeys(parsed.json?.quiz?.questions)) && j(sortKeys(jsonParsed.json?.quiz?.questions)) === j(sortKeys(parsed.json?.quiz?.questions)),
    "quiz-format.md: 'The three English samples are the same quiz'", () => `csv ${csvParsed.status} ${j(csvParsed.json?.quiz?.questions?.[0])}; json ${jsonParsed.status} ${j(jsonParsed.json?.quiz?.questions?.[0])}`);
  const badCsv = "question,option_a,option_b,option_c,correct\nWhat is 2+2?,3,4,5,B\nWhat is 3+3?,5,6,7,E\n";
  const bad = checkHttp("parse a CSV whose correct letter is not an option", "/api/classes/{class_id}/quizzes/parse", "post",
    await http("POST", `/api/classes/${classId}/quizzes/parse?filename=bad.csv`, { token, body: badCsv, raw: true, headers: { "content-type": "text/csv" } }), 400);
  expect(/row 3, column 'correct'/.test(bad.json?.error?.message ?? ""), "the CSV error names the row as Excel shows it and the column", () => j(bad.json));
  const importKey = `import-${uid}`;
  const imported = checkHttp("import samples/quiz.csv (Idempotency-Key)", "/api/classes/{class_id}/quizzes", "post",
    await http("POST", `/api/classes/${classId}/quizzes`, { token, body: withPicture("quiz.csv", csvSample, "text/csv"), raw: true, headers: { "Idempotency-Key": importKey } }), 201);
  const reimported = checkHttp("import retry", "/api/classes/{class_id}/quizzes", "post",
    await http("POST", `/api/classes/${classId}/quizzes`, { token, body: withPicture("quiz.csv", csvSample, "text/csv"), raw: true, headers: { "Idempotency-Key": importKey } }), 200);
  expect(reimported.json?.duplicate === true && reimported.json?.quiz_id === imported.json?.quiz_id && reimported.json?.seq === imported.json?.seq,
    "import retry answers the first import with duplicate:true", () => `${j(imported.json)} vs ${j(reimported.json)}`);
  checkHttp("import retry with another file", "/api/classes/{class_id}/quizzes", "post",
    await http("POST", `/api/classes/${classId}/quizzes`, { token, body: withPicture("quiz.yaml", yamlSample, "application/yaml"), raw: true, headers: { "Idempotency-Key": importKey } }), 409);
  checkHttp("import with a student's token", "/api/classes/{class_id}/quizzes", "post",
    await http("POST", `/api/classes/${classId}/quizzes?filename=quiz.csv`, { token: joinC.json.token, body: csvSample, raw: true, headers: { "content-type": "text/csv" } }), [401, 403]);

  // -- quizzes: the protocol form over quiz_create ----------------------------------------------
  const missing = (MESSAGES.quiz_create.payload.required ?? []).filter((f) => !(f in docExample));
  if (missing.length) {
    finding("quiz-format-example-client-id", "quiz-format.md: 'The YAML example above, in the protocol form' for `quiz_create`",
      `quiz_create requires ${missing.join(", ")} (asyncapi, protocol.md), which the example leaves out: sent as shown it is refused with INVALID_PAYLOAD`);
  }
  const quizPayload = { ...docExample, client_id: `quiz-${uid}` };
  let quiz = await teacher.send("quiz_create", quizPayload);
  if (!quiz.ok) {
    finding("quiz-format-example", "quiz-format.md: 'The YAML example above, in the protocol form' (with image: circle.png) for quiz_create",
      `quiz_create refuses the documented example: ${j(quiz.error)}`);
    quiz = await teacher.send("quiz_create", { ...quizPayload, quiz: { ...docExample.quiz, questions: docExample.quiz.questions.map(({ image, ...q }) => q) } });
  }
  checkAck("quiz_create (the documented protocol form)", "quiz_create", quiz);
  checkSameAnswer("quiz_create retry", quiz, await teacher.send("quiz_create", quizPayload));
  checkAck("quiz_create with the file form (letters)", "quiz_create", await teacher.send("quiz_create", {
    client_id: `quiz-file-${uid}`, quiz: { title: "File form", questions: [{ type: "single", question: "7 x 8?", options: ["54", "56"], correct: "B" }] },
  }), "INVALID_PAYLOAD");
  checkAck("quiz_create with a correct index beyond the options", "quiz_create", await teacher.send("quiz_create", {
    client_id: `quiz-bad-${uid}`, quiz: { title: "Bad", questions: [{ type: "single", question: "7 x 8?", options: ["54", "56"], correct: [5] }] },
  }), "INVALID_PAYLOAD");
  const quizId = quiz.quiz_id;
  expect(quiz.questions === docExample.quiz.questions.length, "quiz_create answers the number of questions");

  // -- running the quiz ------------------------------------------------------------------------
  checkAck("quiz_start", "quiz_start", await teacher.send("quiz_start", { quiz_id: quizId, client_id: `quiz-start-${uid}` }));
  const opened = await ali.waitFor((e) => e.type === "quiz_question_opened" && e.data.quiz_id === quizId && e.data.question === 0, "quiz_question_opened 0");
  expect(opened?.data?.correct === undefined, "students do not see the correct answer while the question is open");
  const answer = checkAck("ali answers 56", "quiz_answer", await ali.send("quiz_answer", { quiz_id: quizId, question: 0, answer_id: `ans-a0-${uid}`, option: 1 }));
  checkAck("bilal answers 54", "quiz_answer", await bilal.send("quiz_answer", { quiz_id: quizId, question: 0, answer_id: `ans-b0-${uid}`, option: 0 }));
  checkSameAnswer("quiz_answer retry", answer, await ali.send("quiz_answer", { quiz_id: quizId, question: 0, answer_id: `ans-a0-${uid}`, option: 1 }));
  checkAck("quiz_answer same answer_id, other option", "quiz_answer", await ali.send("quiz_answer", { quiz_id: quizId, question: 0, answer_id: `ans-a0-${uid}`, option: 2 }), ["IDEMPOTENCY_CONFLICT", "ALREADY_ANSWERED"]);
  checkAck("a second answer", "quiz_answer", await ali.send("quiz_answer", { quiz_id: quizId, question: 0, answer_id: `ans-a0b-${uid}`, option: 0 }), "ALREADY_ANSWERED");
  checkAck("an answer to another question", "quiz_answer", await chand.send("quiz_answer", { quiz_id: quizId, question: 1, answer_id: `ans-c1-${uid}`, option: 0 }), "WRONG_QUESTION");
  checkAck("an answer to an unknown quiz", "quiz_answer", await chand.send("quiz_answer", { quiz_id: "q_nope", question: 0, answer_id: `ans-c2-${uid}`, option: 0 }), "NOT_FOUND");
  checkAck("a numeric answer to a choice question", "quiz_answer", await chand.send("quiz_answer", { quiz_id: quizId, question: 0, answer_id: `ans-c3-${uid}`, number: 56 }), "INVALID_PAYLOAD");
  checkAck("quiz_next closes question 0", "quiz_next", await teacher.send("quiz_next", { quiz_id: quizId, client_id: `quiz-next-1-${uid}` }));
  const closed = await bilal.waitFor((e) => e.type === "quiz_question_closed" && e.data.quiz_id === quizId && e.data.question === 0, "quiz_question_closed 0");
  expect(j(closed?.data?.correct) === "[1]" && j(closed?.data?.distribution) === "[1,1,0,0]" && closed?.data?.answered === 2,
    "quiz_question_closed reveals the answer and the distribution", () => j(closed?.data));
  {
    // protocol.md TOO_LATE: "The question's deadline has passed or it is closed."
    const late = await chand.send("quiz_answer", { quiz_id: quizId, question: 0, answer_id: `ans-c4-${uid}`, option: 1 });
    checkAck("an answer to the closed question", "quiz_answer", late, ["TOO_LATE", "CONFLICT", "WRONG_QUESTION"]);
    if (late?.error?.code !== "TOO_LATE") {
      finding("closed-question-code", "protocol.md TOO_LATE: 'The question's deadline has passed or it is closed.'",
        `an answer to question 0 after quiz_next closed it (no question open) answers ${late?.error?.code}: ${late?.error?.message}`);
    }
  }
  const board = await bilal.waitFor((e) => e.type === "quiz_leaderboard" && e.data.quiz_id === quizId, "quiz_leaderboard");
  expect(board?.data?.top?.[0]?.student_id === joinA.json.student_id && board.data.top[0].score === 1000, "ali leads with 1000 points (answered in the first half second)", () => j(board?.data));
  checkAck("quiz_next opens question 1", "quiz_next", await teacher.send("quiz_next", { quiz_id: quizId, client_id: `quiz-next-2-${uid}` }));
  await ali.waitFor((e) => e.type === "quiz_question_opened" && e.data.quiz_id === quizId && e.data.question === 1, "quiz_question_opened 1");
  checkAck("ali answers true", "quiz_answer", await ali.send("quiz_answer", { quiz_id: quizId, question: 1, answer_id: `ans-a1-${uid}`, option: 0 }));
  checkAck("quiz_end", "quiz_end", await teacher.send("quiz_end", { quiz_id: quizId, client_id: `quiz-end-${uid}` }));
  const ended = await bilal.waitFor((e) => e.type === "quiz_ended" && e.data.quiz_id === quizId, "quiz_ended");
  expect(ended?.data?.podium?.[0]?.student_id === joinA.json.student_id, "the podium has ali first", () => j(ended?.data));
  checkAck("an answer after the quiz ended", "quiz_answer", await bilal.send("quiz_answer", { quiz_id: quizId, question: 1, answer_id: `ans-b9-${uid}`, option: 0 }), "*");
  const report = checkHttp("quiz report JSON", "/api/classes/{class_id}/reports/quizzes/{quiz_id}.{fmt}", "get",
    await http("GET", `/api/classes/${classId}/reports/quizzes/${quizId}.json`, { token }), 200);
  expect(report.json?.players >= 2, "the report counts the players", () => j(report.json));

  // -- retries after later events, from a second connection ------------------------------------
  const ali2 = await Client.open("ali-tab2", { token: joinA.json.token, protocol_version: PROTOCOL_VERSION });
  checkSameAnswer("hand_raise retry later from a second connection", hand,
    await ali2.send("hand_raise", { raised: true, client_id: `hand-${uid}` }));
  checkSameAnswer("poll_vote retry after the poll closed, second connection", vote,
    await ali2.send("poll_vote", { poll_id: pollId, vote_id: `vote-a1-${uid}`, option: 1 }));
  checkSameAnswer("quiz_answer retry after the quiz ended, second connection", answer,
    await ali2.send("quiz_answer", { quiz_id: quizId, question: 0, answer_id: `ans-a0-${uid}`, option: 1 }));
  checkSameAnswer("stroke_start retry much later, second teacher tab", start, await observer.send("stroke_start", startPayload));
  checkSameAnswer("quiz_create retry later, second teacher tab", quiz, await observer.send("quiz_create", quizPayload));
  checkSameAnswer("poll_create retry later, second teacher tab", poll, await observer.send("poll_create", pollPayload));
  ali2.close();

  // -- a board device, an uploaded background, students' private ink, undo, noop ----------------
  await boardAndInk({ teacher, observer, ali, bilal, uid, classId, token, joinA, joinB });

  // -- a tablet drops, the lesson goes on, it comes back and resumes -------------------------------
  {
    const before = bilal.lastSeq;
    bilal.close();
    const missedStroke = `missed-${uid}`;
    checkAck("teacher draws while bilal is away", "stroke_start", await teacher.send("stroke_start", { stroke_id: missedStroke, page_id: "page-1", tool: "pen", color: "#aa0000", width: 2, points: [[5, 5, 0.5, 0]] }));
    checkAck("…and ends it", "stroke_end", await teacher.send("stroke_end", { stroke_id: missedStroke, length: 1 }));
    const urdu = checkAck("teacher writes in Urdu", "board_add_text", await teacher.send("board_add_text", { text_id: `urdu-${uid}`, page_id: "page-1", text: "پاکستان زندہ باد", x: 100, y: 100, size: 40, color: "#000000" }));
    const shape = checkAck("teacher adds a rectangle", "board_add_shape", await teacher.send("board_add_shape", { shape_id: `rect-${uid}`, page_id: "page-1", kind: "rectangle", start: [10.04, 20.06], end: [300.17, 400.26], color: "#00AA00", width: 2.26 }));
    // A tie, exact in binary: half up (Math.round) gives 100.3, half to even 100.2.
    const tie = checkAck("teacher adds a line at a rounding tie", "board_add_shape", await teacher.send("board_add_shape", { shape_id: `tie-${uid}`, page_id: "page-1", kind: "line", start: [100.25, 100.75], end: [200, 200], color: "#000000", width: 2 }));
    const back = await Client.open("bilal-back", { token: joinB.json.token, protocol_version: PROTOCOL_VERSION });
    const resumed = [];
    let after = before;
    for (let i = 0; i < 20; i += 1) {
      const page = checkAck("bilal resumes after reconnecting", "log_resume", await back.send("log_resume", { after_seq: after, limit: 3 }));
      if (!page.ok) break;
      resumed.push(...page.events);
      after = page.next_after_seq;
      if (!page.more) break;
    }
    const types = resumed.map((e) => e.type);
    expect(resumed.some((e) => e.type === "stroke_ended" && e.data.id === missedStroke) && types.includes("text_added") && types.includes("shape_added"),
      "a reconnecting tablet resumes every event it missed (paged)", () => j(types));
    const text = resumed.find((e) => e.type === "text_added");
    expect(text?.data?.dir === "rtl", "Urdu text is marked rtl", () => j(text?.data));
    const rect = resumed.find((e) => e.type === "shape_added");
    expect(j(rect?.data?.pts) === j([10, 20.1, 300.2, 400.3]) && rect?.data?.width === 2.3 && rect?.data?.color === "#00aa00",
      "shape corners and width are rounded to 0.1 (and the colour lower-cased)", () => j(rect?.data));
    expect(urdu.seq < shape.seq && shape.seq < tie.seq, "writes of one connection are logged in the order sent");
    const tied = resumed.find((e) => e.type === "shape_added" && e.data.id === `tie-${uid}`);
    const tiesToEven = PROTOCOL_MD.includes("ties to even on the binary value");
    if (tiesToEven) expect(j(tied?.data?.pts?.slice(0, 2)) === j([100.2, 100.8]), "ties round to even, as documented", () => j(tied?.data));
    else if (tied && j(tied.data.pts.slice(0, 2)) !== j([100.3, 100.8])) {
      finding("rounding-ties", "protocol.md Points and strokes: 'rounded: x and y to 0.1 ... A client that wants to show exactly what others see rounds its own points the same way.'",
        `ties are not rounded half up: [100.25, 100.75] is stored as ${j(tied.data.pts.slice(0, 2))} (half to even on the binary value, Python's round()); the docs do not say which rounding, so a JavaScript client using Math.round differs`);
    }
    bilal.socket = back.socket;
    bilal.events.push(...resumed);
    back.received = bilal.received.bind(bilal);
    back.socket.offAny();
    back.socket.onAny((event, data) => bilal.received(event, data));
  }

  // -- each role's events from the other roles: FORBIDDEN -----------------------------------------
  for (const event of CLIENT_EVENTS) {
    if (MESSAGES[event]["x-roles"].includes("teacher")) continue;
    const payload = sample(MESSAGES[event].payload, MESSAGES[event].payload.$defs ?? {});
    checkAck(`the teacher sends ${event}`, event, await observer.send(event, payload), "FORBIDDEN");
  }

  // -- a curious student attacks ---------------------------------------------------------------
  await attack({ teacher, bilal, chand, uid, classId, token, studentToken: joinC.json.token });

  // -- log_resume and snapshot agree with what was seen live -----------------------------------
  const resumed = [];
  let after = 0;
  for (let page = 0; page < 100; page += 1) {
    const ack = checkAck(`teacher log_resume page ${page}`, "log_resume", await observer.send("log_resume", { after_seq: after, limit: 50 }));
    if (!ack.ok) break;
    ack.events.forEach((e) => checkEnvelope(`resumed ${e.type}`, e.type, e));
    resumed.push(...ack.events);
    after = ack.next_after_seq;
    if (!ack.more) break;
  }
  const resumedSeqs = resumed.map((e) => e.seq);
  expect(resumedSeqs.every((s, i) => s === i + 1), "a teacher's log_resume is every seq from 1, no gaps", () => j(resumedSeqs.slice(0, 40)));
  const liveBySeq = new Map(observer.events.map((e) => [e.seq, e]));
  // protocol.md: live ink batches leave out ts, cid and by.name; compare the rest.
  const inkForm = (e) => {
    if (e.type !== "stroke_extended") return e;
    const { ts, cid, ...rest } = e;
    return { ...rest, by: { role: e.by.role, id: e.by.id } };
  };
  const fuller = resumed.filter((e) => e.type === "stroke_extended" && (e.ts !== undefined || e.by?.name !== undefined));
  if (fuller.length && !PROTOCOL_MD.includes("(`log_resume` answers them whole)")) {
    finding("resumed-ink-form", "protocol.md: 'Ink batches (`stroke_extended` ...) leave out `ts`, `cid` and `by.name`' (said of server events in general)",
      "log_resume answers stroke_extended with ts and by.name; only the live form leaves them out. A client comparing or deduplicating by value must know both forms");
  }
  const mismatched = resumed.filter((e) => liveBySeq.has(e.seq) && j(sortKeys(inkForm(liveBySeq.get(e.seq)))) !== j(sortKeys(inkForm(e))));
  expect(mismatched.length === 0, "resumed events equal the live ones (teacher)", () => mismatched.slice(0, 2).map((e) => `${j(e)} vs ${j(liveBySeq.get(e.seq))}`).join(" | "));
  const missedLive = resumed.filter((e) => e.seq > observer.events[0].seq && !liveBySeq.has(e.seq));
  expect(missedLive.length === 0, "the second teacher tab received every event after it connected", () => j(missedLive.map((e) => [e.seq, e.type])));

  const bilalResume = [];
  after = 0;
  for (let page = 0; page < 100; page += 1) {
    const ack = await bilal.send("log_resume", { after_seq: after, limit: 2000 });
    if (!ack.ok) break;
    bilalResume.push(...ack.events);
    after = ack.next_after_seq;
    if (!ack.more) break;
  }
  const bilalLive = new Set(bilal.events.map((e) => e.seq));
  const first = bilal.events[0]?.seq ?? 0;
  const resumeAfter = bilalResume.filter((e) => e.seq >= first).map((e) => e.seq);
  expect(j(resumeAfter) === j([...bilalLive].filter((s) => s >= first).sort((a, b) => a - b)), "a student's log_resume holds exactly what it was sent live", () => `${resumeAfter.length} resumed vs ${bilalLive.size} live`);
  const hidden = bilalResume.filter((e) => MESSAGES[e.type]?.["x-audience"] === "teachers" || (e.aud === "author" && e.by?.id !== joinB.json.student_id));
  expect(hidden.length === 0, "a student's log_resume leaves out teachers-only events and others' private ones", () => j(hidden.map((e) => e.type)));
  const jumps = [...bilalLive].sort((a, b) => a - b).filter((s, i, all) => i > 0 && s !== all[i - 1] + 1);
  if (jumps.length && !PROTOCOL_MD.includes("carry on from its `next_after_seq`")) {
    finding("seq-jumps-for-students", "protocol.md: '`seq` has no gaps within a class, so a jump means missed events: ask `log_resume {after_seq}`'",
      `a student's live stream jumps ${jumps.length} times (events for teachers or other authors are not sent to it, and log_resume leaves them out too); a client following the doc asks log_resume after each jump and gets nothing back. Only next_after_seq/head_seq tell it to move on`);
  }

  const snap = checkAck("final teacher snapshot", "class_snapshot", await observer.send("class_snapshot", {}));
  expect(snap.seq === resumed[resumed.length - 1]?.seq, "the snapshot's seq is the last logged seq", () => `${snap.seq} vs ${resumed[resumed.length - 1]?.seq}`);
  const item = snap.state?.board?.pages?.find((p) => p.id === "page-1")?.items?.find((i) => i.id === strokeId);
  expect(item?.type === "stroke" && item?.done === true && close(item?.pts ?? [], pts.flatMap(roundPoint)), "the snapshot holds the stroke with every point", () => j(item));
  const snapPoll = snap.state?.polls?.polls?.find((p) => p.poll_id === pollId);
  expect(snapPoll?.status === "closed" && snapPoll?.results_shown === true, "the snapshot shows the poll closed with results", () => j(snapPoll));
  const snapQuiz = snap.state?.quizzes?.quizzes?.find((q) => q.quiz_id === quizId);
  expect(snapQuiz?.status === "ended", "the snapshot shows the quiz ended", () => j(snapQuiz));
  const boardSeqDoc = /\| `seq` \| integer \| (.*?) \|/.exec(PROTOCOL_MD.split("#### state.board")[1] ?? "")?.[1] ?? "";
  expect(snap.state?.board?.seq <= snap.seq, "state.board.seq is at most the snapshot's seq", () => `${snap.state?.board?.seq} vs ${snap.seq}`);
  if (!boardSeqDoc.trim() && snap.state?.board?.seq !== undefined && snap.state.board.seq !== snap.seq) {
    finding("snapshot-board-seq", "protocol.md state.board: '| `seq` | integer |  |' (no meaning given)",
      `state.board.seq is ${snap.state.board.seq} while the snapshot seq is ${snap.seq}: apparently the last board event's seq, but the docs do not say so`);
  }
  const aliSnap = checkAck("ali's final snapshot", "class_snapshot", await ali.send("class_snapshot", {}));
  const myVote = aliSnap.state?.polls?.polls?.find((p) => p.poll_id === pollId)?.my_vote;
  expect(myVote?.vote_id === `vote-a2-${uid}`, "a student's snapshot holds their last vote", () => j(myVote));
  const aliQuiz = aliSnap.state?.quizzes?.quizzes?.find((q) => q.quiz_id === quizId);
  expect(aliQuiz?.me?.score > 0, "a student's snapshot holds their score", () => j(aliQuiz?.me));

  // -- the end of the class ----------------------------------------------------------------------
  const classEnd = checkAck("class_end", "class_end", await teacher.send("class_end", { client_id: `end-${uid}` }));
  checkSameAnswer("class_end retry", classEnd, await observer.send("class_end", { client_id: `end-${uid}` }));
  await bilal.waitFor((e) => e.type === "class_ended", "class_ended");
  await until(() => !bilal.socket.connected, 1000);
  if (bilal.socket.connected) {
    checkAck("a write after the class ended", "hand_raise", await bilal.send("hand_raise", { raised: true, client_id: `hand-late-${uid}` }), "CLASS_ENDED");
  } else if (/students and devices disconnect/.test(MESSAGES.class_end.summary ?? "")) {
    pass("students are disconnected when the class ends, as documented");
    try {
      (await Client.open("bilal-again", { token: joinB.json.token, protocol_version: PROTOCOL_VERSION })).close();
      fail("reconnecting after the class ended is refused", "accepted");
    } catch (err) {
      expect(err.data?.code === "CLASS_ENDED", "reconnecting after the class ended is refused with CLASS_ENDED", () => j(err.data));
    }
  } else {
    finding("class-end-disconnects", "protocol.md class_end: 'The teacher ends the class; later writes are refused with CLASS_ENDED.'",
      "the server disconnects the students ('io server disconnect') right after class_ended instead; a write then never gets an ack. Reconnecting is refused with CLASS_ENDED");
    try {
      (await Client.open("bilal-again", { token: joinB.json.token, protocol_version: PROTOCOL_VERSION })).close();
      fail("reconnecting after the class ended is refused", "accepted");
    } catch (err) {
      expect(err.data?.code === "CLASS_ENDED", "reconnecting after the class ended is refused with CLASS_ENDED", () => j(err.data));
    }
  }
  checkHttp("join after the class ended", "/api/join", "post", await http("POST", "/api/join", { body: { join_code: joinCode, name: "Late" } }), [404, 409]);

  // -- reports, and the end of the teacher's tokens ------------------------------------------------
  const csv = await http("GET", `/api/classes/${classId}/reports/quizzes/${quizId}/results.csv`, { token });
  expect(csv.status === 200 && csv.headers.get("content-type")?.startsWith("text/csv") && csv.text.includes("Ali"), "the quiz results CSV names the students", () => `${csv.status} ${csv.text.slice(0, 100)}`);
  checkHttp("polls report", "/api/classes/{class_id}/reports/polls.{fmt}", "get", await http("GET", `/api/classes/${classId}/reports/polls.json`, { token }), 200);
  checkHttp("a quiz report with a student's token", "/api/classes/{class_id}/reports/quizzes/{quiz_id}.{fmt}", "get",
    await http("GET", `/api/classes/${classId}/reports/quizzes/${quizId}.json?token=${encodeURIComponent(joinA.json.token)}`), [401, 403]);
  checkHttp("setup once a teacher exists", "/api/setup", "post", await http("POST", "/api/setup", { body: { name: "mallory", password: "long-enough-password" } }), [403, 409]);
  {
    // SetupBody / PasswordBody: password (minLength=1).
    const short = await http("POST", "/api/password", { token, body: { current_password: PASSWORD, new_password: "x" } });
    checkHttp("a one-character new password", "/api/password", "post", short, [200, 400]);
    const documentedMin = Number(/At least (\d+) characters/.exec(OPENAPI.components.schemas.PasswordBody.properties.new_password.description ?? "")?.[1] ?? 1);
    const enforcedMin = Number(/at least (\d+) characters/.exec(short.json?.error?.message ?? "")?.[1] ?? 1);
    if (short.status === 400 && documentedMin !== enforcedMin) {
      finding("password-length", "protocol.md SetupBody.password / PasswordBody.new_password: 'string (minLength=1, maxLength=256)'",
        `a one-character password is refused: ${short.json?.error?.message}`);
    }
  }
  const closedTeacher = new Promise((r) => observer.socket.once("disconnect", (reason) => r(reason)));
  checkHttp("sign out everywhere", "/api/sign-out-everywhere", "post", await http("POST", "/api/sign-out-everywhere", { token }), 200);
  const reason = await Promise.race([closedTeacher, new Promise((r) => setTimeout(() => r("still connected"), 2000))]);
  expect(reason !== "still connected", "signing out everywhere closes the teacher's sockets", () => reason);
  checkHttp("the old token after signing out", "/api/classes", "get", await http("GET", "/api/classes", { token }), 401);

  for (const c of [teacher, observer, ali, bilal, chand]) c.close();
  const summary = { passes, fails: fails.length, findings: findings.size, seconds: (Date.now() - started) / 1000 };
  console.log("FINDINGS " + JSON.stringify(Object.fromEntries(findings)));
  console.log(JSON.stringify(summary));
  return fails.length === 0 ? 0 : 1;
}

// ---------------------------------------------------------------- devices, pictures, ink

/** A 32 x 32 red PNG, built here so that the client needs no picture files. */
function redPng(size = 32) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, "ascii");
    const tail = Buffer.alloc(4);
    tail.writeUInt32BE(crc(Buffer.concat([head.subarray(4), data])), 0);
    return Buffer.concat([head, data, tail]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(size * 3, Buffer.from([255, 0, 0]))]);
  const raw = Buffer.concat(Array.from({ length: size }, () => row));
  const { deflateSync } = require("node:zlib");
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

async function boardAndInk({ teacher, observer, ali, bilal, uid, classId, token, joinA, joinB }) {
  // A board device token, with an Idempotency-Key.
  const deviceKey = `device-${uid}`;
  const device = checkHttp("device token", "/api/classes/{class_id}/devices", "post",
    await http("POST", `/api/classes/${classId}/devices`, { token, body: { name: "Back-wall camera" }, headers: { "Idempotency-Key": deviceKey } }), 201);
  const deviceAgain = await http("POST", `/api/classes/${classId}/devices`, { token, body: { name: "Back-wall camera" }, headers: { "Idempotency-Key": deviceKey } });
  expect(deviceAgain.status === 200 && deviceAgain.json?.device_id === device.json?.device_id, "device retry answers the first token (200)", () => `${deviceAgain.status} ${j(deviceAgain.json)}`);
  const camera = await Client.open("camera", { token: device.json.token, protocol_version: PROTOCOL_VERSION });
  const png = redPng();
  const asText = png.toString("base64");
  // The docs: `image` (string; minLength=16, maxLength=1500000). Which string is not said.
  const docsSayBinary = MESSAGES.camera_snapshot.payload.properties.image.format === "binary" && /`image` \(bytes, as a Socket\.IO binary attachment/.test(PROTOCOL_MD);
  const snapshotText = await camera.send("camera_snapshot", { snapshot_id: `snap-a-${uid}`, image: asText, format: "png", width: 32, height: 32 });
  if (docsSayBinary) checkAck("camera_snapshot with the picture as base64 text", "camera_snapshot", snapshotText, "INVALID_PAYLOAD");
  if (!snapshotText.ok) {
    const snapshotBinary = await camera.send("camera_snapshot", { snapshot_id: `snap-b-${uid}`, image: png, format: "png", width: 32, height: 32 });
    if (docsSayBinary) checkAck("camera_snapshot with the picture as binary (as documented)", "camera_snapshot", snapshotBinary);
    else finding("camera-image-type", "protocol.md camera_snapshot / camera_keyframe: '`image` (string; minLength=16, maxLength=1500000)'; asyncapi: type string",
      `a base64 string is refused (${j(snapshotText.error)}); the picture as Socket.IO binary is ${snapshotBinary.ok ? "accepted" : `refused too (${j(snapshotBinary.error)})`}. The docs give neither the encoding nor that it must be binary`);
    if (snapshotBinary.ok) {
      checkAck("camera_snapshot as binary", "camera_snapshot", snapshotBinary);
      const updated = await bilal.waitFor((e) => e.type === "camera_updated" && e.data.snapshot_id === `snap-b-${uid}`, "camera_updated");
      const asset = await http("GET", `/api/classes/${classId}/assets/${updated?.data?.asset_id}?token=${encodeURIComponent(joinB.json.token)}`);
      expect(asset.status === 200, "a student fetches the camera view", () => `${asset.status}`);
      checkAck("camera_snapshot whose size is not the picture's", "camera_snapshot",
        await camera.send("camera_snapshot", { snapshot_id: `snap-c-${uid}`, image: png, format: "png", width: 640, height: 480 }), ["INVALID_PAYLOAD", "*"]);
      checkAck("camera_snapshot with garbage bytes", "camera_snapshot",
        await camera.send("camera_snapshot", { snapshot_id: `snap-d-${uid}`, image: Buffer.alloc(64, 7), format: "png", width: 32, height: 32 }), "INVALID_PAYLOAD");
    }
  }
  checkAck("a board device votes", "poll_vote", await camera.send("poll_vote", { poll_id: "x", vote_id: `v-cam-${uid}`, option: 0 }), "FORBIDDEN");
  const cameraSnap = checkAck("the board device's snapshot", "class_snapshot", await camera.send("class_snapshot", {}));
  expect(cameraSnap.you?.role === "board", "the device is the board role", () => j(cameraSnap.you));
  camera.close();

  // An uploaded background picture on a new page.
  const upload = checkHttp("upload a page background", "/api/classes/{class_id}/images", "post",
    await http("POST", `/api/classes/${classId}/images`, { token, body: png, raw: true, headers: { "content-type": "image/png" } }), 201);
  const pageId = `page-pic-${uid}`;
  const added = checkAck("page_add with the picture", "page_add", await teacher.send("page_add", { page_id: pageId, background: { kind: "image", image: upload.json.asset_id } }));
  checkSameAnswer("page_add retry", added, await observer.send("page_add", { page_id: pageId, background: { kind: "image", image: upload.json.asset_id } }));
  checkAck("page_add with another class's picture id", "page_add", await teacher.send("page_add", { page_id: `page-x-${uid}`, background: { kind: "image", image: "img_nope" } }), "NOT_FOUND");
  checkAck("page_add with a picture on a ruled page", "page_add", await teacher.send("page_add", { page_id: `page-y-${uid}`, background: { kind: "ruled", image: upload.json.asset_id } }), "INVALID_PAYLOAD");
  const render = await http("GET", `/api/classes/${classId}/pages/${pageId}.png?token=${encodeURIComponent(joinA.json.token)}`);
  expect(render.status === 200 && render.headers.get("content-type")?.startsWith("image/png"), "a student renders the page as PNG", () => `${render.status}`);

  // Students' ink private to the teacher: another student neither receives it nor resumes it.
  checkAck("board_allow_drawing ink: teacher", "board_allow_drawing", await teacher.send("board_allow_drawing", { ink: "teacher", client_id: `allow-${uid}` }));
  const again = await teacher.send("board_allow_drawing", { ink: "teacher", client_id: `allow2-${uid}` });
  checkAck("board_allow_drawing again, the same", "board_allow_drawing", again);
  if (again.ok && again.noop !== true) {
    finding("noop-when", "asyncapi AppendAck.noop: 'True when the write was valid but changed nothing (already so)'",
      "board_allow_drawing with the same students and ink twice appends a second drawing_allowed (noop absent); which writes can be noop is not said");
  }
  const inkId = `ali-ink-${uid}`;
  const aliStroke = checkAck("ali draws (private ink)", "stroke_start", await ali.send("stroke_start", { stroke_id: inkId, page_id: pageId, tool: "pen", color: "#0000ff", width: 3, points: [[10, 10, 0.5, 0], [20, 20, 0.5, 16]] }));
  checkAck("ali ends the stroke", "stroke_end", await ali.send("stroke_end", { stroke_id: inkId, length: 2 }));
  const seen = await observer.waitFor((e) => e.type === "stroke_ended" && e.data.id === inkId, "ali's stroke_ended");
  expect(seen?.aud === "author", "private ink carries aud: author", () => j(seen));
  const leaked = bilal.events.filter((e) => e.data?.id === inkId);
  expect(leaked.length === 0, "another student does not receive private ink", () => j(leaked.map((e) => e.type)));
  const bilalSees = await bilal.send("log_resume", { after_seq: aliStroke.seq - 1, limit: 50 });
  expect(bilalSees.ok && !bilalSees.events.some((e) => e.data?.id === inkId), "another student does not resume private ink", () => j(bilalSees));
  checkAck("bilal extends ali's stroke", "stroke_extend", await bilal.send("stroke_extend", { stroke_id: inkId, offset: 2, points: [[1, 1, 0.5, 20]] }), ["NOT_FOUND", "FORBIDDEN"]);
  checkAck("bilal erases ali's stroke", "board_erase", await bilal.send("board_erase", { op_id: `erase-${uid}`, page_id: pageId, ids: [inkId] }), ["NOT_FOUND", "FORBIDDEN", "*"]);
  const undo = checkAck("ali undoes the stroke", "board_undo", await ali.send("board_undo", { client_id: `undo-${uid}` }));
  checkSameAnswer("board_undo retry", undo, await ali.send("board_undo", { client_id: `undo-${uid}` }));
  checkAck("ali undoes with nothing left", "board_undo", await ali.send("board_undo", { client_id: `undo2-${uid}` }), ["CONFLICT", "*"]);
  checkAck("ali redoes", "board_redo", await ali.send("board_redo", { client_id: `redo-${uid}` }));
  checkAck("board_revoke_drawing", "board_revoke_drawing", await teacher.send("board_revoke_drawing", { client_id: `revoke-${uid}` }));
  checkAck("ali draws after revoke", "stroke_start", await ali.send("stroke_start", { stroke_id: `late-${uid}`, page_id: pageId, tool: "pen", color: "#0000ff", width: 3 }), "FORBIDDEN");
  checkAck("page_switch back", "page_switch", await teacher.send("page_switch", { page_id: "page-1", client_id: `switch-${uid}` }));

  // log_resume edges: over the page limit, and from beyond the head.
  checkAck("log_resume limit 5001", "log_resume", await bilal.send("log_resume", { after_seq: 0, limit: 5001 }), "INVALID_PAYLOAD");
  const head = (await observer.send("log_resume", { after_seq: 0, limit: 1 })).head_seq;
  const ahead = checkAck("log_resume from beyond the head", "log_resume", await observer.send("log_resume", { after_seq: head + 1000 }));
  expect(ahead.head_seq === head && ahead.more === false && ahead.events?.length === 0, "log_resume from beyond the head answers the real head_seq", () => `head ${head}: ${j(ahead)}`);
  const clock = checkAck("clock_sync", "clock_sync", await bilal.send("clock_sync", { client_time_ms: 1234.5 }));
  expect(clock.client_time_ms === 1234.5 && Math.abs(clock.server_time_ms - Date.now()) < 60_000, "clock_sync echoes the client time with the server's");
  const roster = checkAck("roster_get", "roster_get", await teacher.send("roster_get", {}));
  expect(roster.students?.length >= 3, "the roster lists the students", () => j(roster));
  const classes = checkHttp("class list, a page of 1", "/api/classes", "get", await http("GET", "/api/classes?limit=1", { token }), 200);
  if (classes.json?.next) {
    checkHttp("class list, the next page", "/api/classes", "get", await http("GET", `/api/classes?limit=1&before=${encodeURIComponent(classes.json.next)}`, { token }), 200);
  }
}

// ---------------------------------------------------------------- the curious student

/** Wrong types for a schema: one payload per required field with that field broken. */
function brokenPayloads(schema) {
  const out = [];
  const valid = sample(schema, schema.$defs ?? {});
  for (const name of schema.required ?? []) {
    const prop = schema.properties[name];
    const type = prop.type ?? prop.anyOf?.find((a) => a.type && a.type !== "null")?.type ?? (prop.$ref ? "object" : undefined);
    const wrong = type === "string" ? 12 : type === "array" ? "not a list" : type === "object" ? [1] : "not a number";
    out.push([name, { ...valid, [name]: wrong }]);
  }
  out.push(["<missing all>", {}]);
  out.push(["<extra field>", { ...valid, sneaky: true }]);
  return out;
}

/** A value that fits the schema (the smallest one), so that only the broken field is wrong. */
function sample(schema, defs) {
  if (schema.$ref) return sample(defs[schema.$ref.replace("#/$defs/", "")], defs);
  if ("const" in schema) return schema.const;
  if (schema.enum) return schema.enum[0];
  if (schema.anyOf || schema.oneOf) return sample((schema.anyOf ?? schema.oneOf).find((a) => a.type !== "null"), defs);
  switch (schema.type) {
    case "string":
      if (schema.pattern === "^#[0-9a-fA-F]{6}$") return "#000000";
      return "a".repeat(Math.max(schema.minLength ?? 1, 3));
    case "integer":
    case "number":
      return schema.minimum ?? 0;
    case "boolean":
      return true;
    case "array":
      if (schema.prefixItems) return schema.prefixItems.map((p) => sample(p, defs));
      return Array.from({ length: schema.minItems ?? 0 }, () => sample(schema.items, defs));
    case "object":
    default: {
      const out = {};
      for (const name of schema.required ?? []) out[name] = sample(schema.properties[name], defs);
      return out;
    }
  }
}

async function attack({ teacher, bilal, chand: attacker, uid, classId, token, studentToken }) {
  let chand = attacker;
  let probe = 0;
  // After each round: the teacher still writes, another student still receives it.
  const stillWorks = async (after) => {
    probe += 1;
    const ack = await teacher.send("hand_lower", { student_id: chand.studentId ?? "s_unknown0000000", client_id: `probe-${uid}-${probe}` });
    const snapshot = await bilal.send("class_snapshot", {});
    expect(snapshot.ok === true && (ack.ok === true || ERROR_CODES.has(ack?.error?.code)), `after ${after}: the class keeps working for others`, () => `${j(ack)} ${j(snapshot).slice(0, 100)}`);
  };
  const me = await chand.send("class_snapshot", {});
  chand.studentId = me.you?.id;

  // Unknown and reserved event names, sent as raw packets (the library refuses to send some).
  checkAck("an unknown event", "-", await chand.call("board_hack", { x: 1 }), "UNKNOWN_EVENT");
  for (const name of ["message", "error", "connect_error", "disconnecting", "newListener", "constructor", "toString", "__init__", "on_poll_vote"]) {
    checkAck(`the reserved/odd event name '${name}'`, "-", await chand.raw(JSON.stringify([name, {}])), "UNKNOWN_EVENT");
  }
  for (const name of ["connect", "disconnect"]) {
    const ack = await chand.raw(JSON.stringify([name, {}]));
    checkAck(`the reserved event name '${name}'`, "-", ack, "UNKNOWN_EVENT");
    const after = await chand.send("clock_sync", { client_time_ms: 1 });
    expect(after.ok === true, `after sending '${name}' the student's own session still works`, () => j(after));
  }
  const broken = !(await chand.send("clock_sync", { client_time_ms: 1 })).ok;
  await until(() => teacher.events.some((e) => e.type === "student_disconnected" && e.data.student_id === chand.studentId), 300);
  const spoofed = teacher.events.filter((e) => e.type === "student_disconnected" && e.data.student_id === chand.studentId);
  expect(chand.socket.connected && spoofed.length === 0, "a student cannot fake a disconnect by naming the event", () => `connected=${chand.socket.connected}, logged ${j(spoofed.map((e) => e.seq))}`);
  if (broken) {
    // Go on with a fresh connection, as the attacker's app would after a reload.
    chand.close();
    chand = await Client.open("chand-again", { token: studentToken, protocol_version: PROTOCOL_VERSION });
    chand.studentId = me.you?.id;
  }
  await stillWorks("reserved event names");

  // Socket.IO packets a client never sends (no event name, CONNECT_ERROR, unknown types):
  // ignored or refused, and the connection keeps working.
  for (const packet of ["2", "2[]", "2{}", '2"x"', '4{"message":"x"}', "9", "39[{}]"]) {
    chand.socket.io.engine.send(packet);
    const after = await chand.send("clock_sync", { client_time_ms: 2 }, { timeout: 1500 });
    if (!expect(after.ok === true, `after the packet ${j(packet)} the connection still answers`, () => j(after))) {
      chand.close();
      chand = await Client.open("chand-again", { token: studentToken, protocol_version: PROTOCOL_VERSION });
      chand.studentId = me.you?.id;
    }
  }
  await stillWorks("odd packets");

  // The docs: only a board device may send binary; any other binary packet closes the connection.
  for (const packet of ["6", "5[\"clock_sync\",{}]", '51-["clock_sync",{}]']) {
    chand.socket.io.engine.send(packet);
    await until(() => !chand.socket.connected, 3000);
    expect(!chand.socket.connected, `a student's binary packet ${j(packet)} closes the connection`, () => "still connected");
    chand.close();
    chand = await Client.open("chand-again", { token: studentToken, protocol_version: PROTOCOL_VERSION });
    chand.studentId = me.you?.id;
  }
  await stillWorks("binary from a student");

  // JSON the docs refuse: NaN, Infinity, deep nesting, several arguments, no object.
  for (const [what, text, code] of [
    ["NaN in a number", '["clock_sync",{"client_time_ms":NaN}]', "INVALID_PAYLOAD"],
    ["Infinity in a number", '["clock_sync",{"client_time_ms":1e999}]', "INVALID_PAYLOAD"],
    ["-Infinity in a stroke point", `["stroke_start",{"stroke_id":"inf-${uid}","page_id":"page-1","tool":"pen","color":"#000000","width":2,"points":[[-1e999,1,0.5,0]]}]`, ["INVALID_PAYLOAD", "FORBIDDEN"]],
    ["50,000 nested lists", `["clock_sync",${"[".repeat(50000)}${"]".repeat(50000)}]`, "INVALID_PAYLOAD"],
    ["two payloads", '["clock_sync",{"client_time_ms":1},{"client_time_ms":2}]', "INVALID_PAYLOAD"],
    ["a string payload", '["clock_sync","now"]', "INVALID_PAYLOAD"],
    ["a list payload", '["log_resume",[0]]', "INVALID_PAYLOAD"],
    ["a null payload", '["log_resume",null]', "INVALID_PAYLOAD"],
    ["a number as event name", '[42,{}]', "INVALID_PAYLOAD"],
  ]) {
    checkAck(`raw: ${what}`, "-", await chand.raw(text), code);
  }
  await stillWorks("malformed JSON");

  // Every client event, with each required field of the wrong type, and with the wrong role.
  for (const event of CLIENT_EVENTS) {
    const spec = MESSAGES[event];
    const allowed = spec["x-roles"].includes("student");
    for (const [field, payload] of brokenPayloads(spec.payload)) {
      const ack = await chand.send(event, payload);
      if (!allowed) {
        checkAck(`${event} (not a student's event) with ${field}`, event, ack, "FORBIDDEN");
        break;
      }
      // An event without required fields takes {} (class_snapshot, roster_get): nothing broken.
      if ((spec.payload.required ?? []).length === 0 && field === "<missing all>") continue;
      checkAck(`${event} with a broken '${field}'`, event, ack, ["INVALID_PAYLOAD", "FORBIDDEN"]);
      if (ack?.error?.code === "INVALID_PAYLOAD" && field !== "<missing all>") {
        const named = field === "<extra field>" ? "sneaky" : field;
        if (ack.error.field !== named) {
          finding(`error-field:${event}`, "protocol.md INVALID_PAYLOAD: '``field`` names the first problem'", `${event} with a broken '${named}' answers field ${j(ack.error.field)}`);
        }
      }
    }
  }
  await stillWorks("wrong types and roles");

  // A student who may not draw, drawing; and poking at the teacher's tools.
  checkAck("a student draws without permission", "stroke_start", await chand.send("stroke_start", { stroke_id: `c-${uid}`, page_id: "page-1", tool: "pen", color: "#000000", width: 2 }), "FORBIDDEN");
  checkAck("a student ends the class", "class_end", await chand.send("class_end", { client_id: `c-end-${uid}` }), "FORBIDDEN");
  checkAck("a student lowers a hand", "hand_lower", await chand.send("hand_lower", { student_id: chand.studentId, client_id: `c-low-${uid}` }), "FORBIDDEN");
  checkAck("a student asks for the roster", "roster_get", await chand.send("roster_get", {}), "FORBIDDEN");

  // Huge payloads: over a field's limit (a clear error), and over the whole message (?).
  checkAck("a 600,000-character text", "board_add_text", await chand.send("board_add_text", { text_id: `t-${uid}`, page_id: "page-1", text: "x".repeat(600_000), x: 1, y: 1, size: 20, color: "#000000" }), ["INVALID_PAYLOAD", "FORBIDDEN"]);
  checkAck("a stroke batch of 5,000 points", "stroke_extend", await teacher.send("stroke_extend", { stroke_id: `big-${uid}`, offset: 0, points: Array.from({ length: 5000 }, (_, i) => [1, 1, 0.5, i]) }), "INVALID_PAYLOAD");
  checkAck("a poll with 1,000 options", "poll_create", await teacher.send("poll_create", { kind: "single", question: "q", options: Array.from({ length: 1000 }, (_, i) => `o${i}`), client_id: `bigpoll-${uid}` }), "INVALID_PAYLOAD");
  {
    const big = await Client.open("chand-big", { token: studentToken, protocol_version: PROTOCOL_VERSION });
    const disconnected = new Promise((r) => big.socket.once("disconnect", (reason) => r(reason)));
    const ack = await big.call("clock_sync", { client_time_ms: 1, pad: "x".repeat(4_000_000) }, { timeout: 3000 });
    const limitMb = Number(/A Socket\.IO message larger than (\d+) MB is not answered: the connection closes/.exec(PROTOCOL_MD)?.[1] ?? 0);
    if (ack?.ok === "NO-ACK" && limitMb > 0 && limitMb < 4) {
      const reason = await Promise.race([disconnected, new Promise((r) => setTimeout(() => r("still connected"), 1000))]);
      expect(reason !== "still connected", `a message over the documented ${limitMb} MB closes the connection`, () => reason);
    } else if (ack?.ok === "NO-ACK") {
      const reason = await Promise.race([disconnected, new Promise((r) => setTimeout(() => r("still connected"), 500))]);
      finding("huge-socket-message", "protocol.md PAYLOAD_TOO_LARGE: 'The request or message is larger than allowed.' (no Socket.IO message limit is given)",
        `a 4 MB Socket.IO message gets no ack and no error code: the connection is closed (${reason}); the limit is not documented`);
    } else {
      checkAck("a 4 MB Socket.IO message", "clock_sync", ack, ["PAYLOAD_TOO_LARGE", "INVALID_PAYLOAD"]);
    }
    big.close();
  }
  await stillWorks("huge payloads");

  // More tabs of one student than the server allows.
  {
    const tabs = [];
    const reasons = [];
    for (let i = 0; i < 4; i += 1) {
      try {
        const tab = await Client.open(`chand-tab${i}`, { token: studentToken, protocol_version: PROTOCOL_VERSION });
        tab.socket.on("disconnect", (reason) => reasons.push([i, reason]));
        tabs.push(tab);
      } catch (err) {
        checkErrorAck(`chand's tab ${i} refused`, { ok: false, error: err.data }, ["BUSY", "RATE_LIMITED", "FORBIDDEN", "CONFLICT"]);
      }
    }
    await until(() => reasons.length > 0, 500);
    const evicted = chand.socket.connected === false || reasons.length > 0;
    const cap = Number(/One token holds at most (\d+) connections \(tabs\); a further one closes the oldest/.exec(PROTOCOL_MD)?.[1] ?? 0);
    if (cap === 3) {
      // chand + 4 tabs = 5 connections: the two oldest close, the three newest stay.
      expect(evicted && tabs.slice(-3).every((t) => t.socket.connected), "a token keeps its newest connections up to the documented cap", () => `${j(reasons)}; newest connected: ${tabs.slice(-3).map((t) => t.socket.connected)}`);
    } else if (evicted) {
      finding("connections-per-token", "protocol.md: nothing about how many connections one token may hold (BUSY: 'every connection in use')",
        `the 4th connection of one student token is accepted and the oldest is dropped with a bare 'io server disconnect' (no code, no event); dropped: ${j(reasons)}, first connection connected=${chand.socket.connected}`);
    }
    for (const tab of tabs) tab.close();
    chand.close();
    chand = await Client.open("chand-again", { token: studentToken, protocol_version: PROTOCOL_VERSION });
    chand.studentId = me.you?.id;
  }
  await stillWorks("many tabs");

  // A flood from one connection is rate limited (with retry_after_s); the others are not.
  // protocol.md: bucket `default` 10 per second, burst 30.
  const floodStarted = Date.now();
  const flood = await Promise.all(Array.from({ length: 60 }, () => chand.call("clock_sync", { client_time_ms: 1 })));
  const floodSeconds = (Date.now() - floodStarted) / 1000;
  const limited = flood.filter((a) => a?.error?.code === "RATE_LIMITED");
  const served = flood.filter((a) => a?.ok === true).length;
  expect(limited.length > 0, "a flood of 60 clock_sync is rate limited", () => `${limited.length} limited`);
  expect(served >= 29 && served <= 31 + 10 * floodSeconds, "the default bucket serves its documented burst of 30", () => `${served} served in ${floodSeconds} s`);
  if (limited[0]) checkErrorAck("a flooded clock_sync", limited[0], "RATE_LIMITED");
  const others = await bilal.call("clock_sync", { client_time_ms: 1 });
  expect(others.ok === true, "another student is not rate limited by the flood", () => j(others));
  await stillWorks("a flood");

  // HTTP as the student: teacher routes, other classes, traversal, wrong types.
  checkHttp("a student's token on a teacher route", "/api/classes/{class_id}", "get", await http("GET", `/api/classes/${classId}`, { token: studentToken }), [401, 403]);
  checkHttp("a student's token on another class's page", "/api/classes/{class_id}/pages/{page_id}.{fmt}", "get",
    await http("GET", `/api/classes/c_nope/pages/page-1.png?token=${encodeURIComponent(studentToken)}`), [403, 404]);
  checkHttp("a page render with a traversal page id", "/api/classes/{class_id}/pages/{page_id}.{fmt}", "get",
    await http("GET", `/api/classes/${classId}/pages/..%2F..%2Fetc.png?token=${encodeURIComponent(studentToken)}`), [400, 404]);
  checkHttp("an asset with a traversal id", "/api/classes/{class_id}/assets/{asset_id}", "get",
    await http("GET", `/api/classes/${classId}/assets/..%2Ftakhti.sqlite3?token=${encodeURIComponent(studentToken)}`), [400, 404]);
  checkHttp("a page render at scale 1000", "/api/classes/{class_id}/pages/{page_id}.{fmt}", "get",
    await http("GET", `/api/classes/${classId}/pages/page-1.png?scale=1000&token=${encodeURIComponent(studentToken)}`), 400);
  checkHttp("a class list with limit=-5", "/api/classes", "get", await http("GET", "/api/classes?limit=-5", { token }), 400);
  checkHttp("an upload that is not a picture", "/api/classes/{class_id}/images", "post",
    await http("POST", `/api/classes/${classId}/images`, { token, body: "GIF89a not really", raw: true, headers: { "content-type": "image/png" } }), 400);
  checkHttp("a 2 MB quiz file", "/api/classes/{class_id}/quizzes/parse", "post",
    await http("POST", `/api/classes/${classId}/quizzes/parse?filename=q.csv`, { token, body: "question,type,correct\n" + "a,true_false,true\n".repeat(120_000), raw: true, headers: { "content-type": "text/csv" } }), 413);
  const unknownRoute = await http("GET", "/api/nothing-here", { token });
  if (!(unknownRoute.status === 404 && unknownRoute.json?.error?.code === "NOT_FOUND")) {
    finding("http-unknown-route", "protocol.md HTTP API: 'Every error answer is {\"ok\": false, \"error\": {...}}'", `GET /api/nothing-here answers ${unknownRoute.status} ${j(unknownRoute.json ?? unknownRoute.text.slice(0, 80))}`);
  }
  const wrongMethod = await http("DELETE", "/api/join");
  if (!(wrongMethod.json?.ok === false && ERROR_CODES.has(wrongMethod.json?.error?.code))) {
    finding("http-wrong-method", "protocol.md HTTP API: 'Every error answer is {\"ok\": false, \"error\": {...}} with the status of its code'", `DELETE /api/join answers ${wrongMethod.status} ${j(wrongMethod.json ?? wrongMethod.text.slice(0, 80))}`);
  } else if (!ERROR_CODES.has(wrongMethod.json.error.code) || ERROR_CODES.get(wrongMethod.json.error.code) !== wrongMethod.status) {
    finding("http-wrong-method-status", "protocol.md Error codes: each code has one HTTP status", `DELETE /api/join answers ${wrongMethod.status} with ${wrongMethod.json.error.code} (documented ${ERROR_CODES.get(wrongMethod.json.error.code)})`);
  }
  await stillWorks("HTTP pokes");
}

// The whole run takes ~5 s; a server that stops answering must not hang the test.
setTimeout(() => {
  fail("the client finishes within 50 s", `stuck after ${passes} passes and ${fails.length} fails`);
  process.exit(1);
}, 50_000).unref();

main().then((code) => process.exit(code), (err) => {
  console.log(`FAIL  the client crashed: ${err?.stack ?? err}`);
  process.exit(1);
});
