#!/usr/bin/env node
// Interop checks of the Runtime gRPC servers with an independent implementation
// (@grpc/grpc-js + @grpc/proto-loader), over cleartext HTTP/2.
//
// usage: node interop.js <ext_proc host:port> [<health host:port>] [--proto-root DIR] [--timeout-ms N]
//
// Prints one JSON line per case ({"case", "ok", "ms", "detail"}) on stdout and exits 1
// if any case failed, 2 on bad usage.
'use strict';

const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROCESS_PATH = '/envoy.service.ext_proc.v3.ExternalProcessor/Process';
const HEALTH_SERVICES = ['', 'envoy.service.ext_proc.v3.ExternalProcessor', 'liveness', 'readiness'];

function parseArgs(argv) {
  const options = { protoRoot: path.resolve(__dirname, '..', '..', 'proto'), timeoutMs: 10000, targets: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--proto-root') {
      options.protoRoot = path.resolve(argv[++i]);
    } else if (arg === '--timeout-ms') {
      options.timeoutMs = Number(argv[++i]);
    } else if (arg === '-h' || arg === '--help') {
      options.help = true;
    } else if (arg.startsWith('--')) {
      throw new Error(`unknown option ${arg}`);
    } else {
      options.targets.push(arg);
    }
  }
  if (!options.help && (options.targets.length < 1 || options.targets.length > 2)) {
    throw new Error('expected <ext_proc host:port> [<health host:port>]');
  }
  options.extProc = options.targets[0];
  options.health = options.targets[1] || options.targets[0];
  return options;
}

function loadProtos(protoRoot) {
  const definition = protoLoader.loadSync(
    ['envoy/service/ext_proc/v3/external_processor.proto', 'grpc/health/v1/health.proto'],
    { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [protoRoot] });
  return grpc.loadPackageDefinition(definition);
}

function header(key, value) {
  // Envoy sends values in raw_value only.
  return { key, raw_value: Buffer.from(value, 'utf8') };
}

function requestHeaders(bodyLength) {
  return {
    request_headers: {
      headers: {
        headers: [
          header(':authority', 'gateway.test'),
          header(':path', '/v1/chat/completions'),
          header(':method', 'POST'),
          header(':scheme', 'http'),
          header('content-type', 'application/json'),
          header('content-length', String(bodyLength)),
          header('x-request-id', 'interop-0001'),
        ],
      },
      end_of_stream: false,
    },
    protocol_config: { request_body_mode: 'FULL_DUPLEX_STREAMED', response_body_mode: 'FULL_DUPLEX_STREAMED' },
  };
}

function chatBody(size) {
  const prefix = '{"model":"meta-llama/Llama-3.1-8B-Instruct","messages":[{"role":"user","content":"';
  const suffix = '"}],"stream":true}';
  return Buffer.from(prefix + 'x'.repeat(size - prefix.length - suffix.length) + suffix, 'ascii');
}

function bodyChunks(body, offsets) {
  const chunks = [];
  let start = 0;
  for (const offset of [...offsets, body.length]) {
    chunks.push(body.subarray(start, offset));
    start = offset;
  }
  return chunks.map((chunk, i) => ({ request_body: { body: chunk, end_of_stream: i === chunks.length - 1 } }));
}

function deadline(timeoutMs) {
  return new Date(Date.now() + timeoutMs);
}

function withTimeout(promise, timeoutMs, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Collects every response and the final status of a bidi call.
function observe(call) {
  const responses = [];
  const waiters = [];
  let finalStatus;
  const wake = () => waiters.splice(0).forEach((w) => w());
  const done = new Promise((resolve) => {
    call.on('data', (message) => {
      responses.push(message);
      wake();
    });
    call.on('status', (s) => {
      finalStatus = s;
      wake();
      resolve({ responses, status: s });
    });
    call.on('error', () => {
      // The status event carries the details; without this handler node would throw.
    });
  });
  // Resolves with the count-th response, or rejects if the call ends before it arrives.
  const nextResponse = (count) => new Promise((resolve, reject) => {
    const check = () => {
      if (responses.length >= count) {
        resolve(responses[count - 1]);
      } else if (finalStatus) {
        reject(new Error(`call ended with ${finalStatus.code} (${finalStatus.details}) after ${responses.length} response(s)`));
      } else {
        waiters.push(check);
      }
    };
    check();
  });
  return { responses, done, nextResponse };
}

// The checks every pass-through full-duplex exchange must satisfy.
function verifyFullDuplex(responses, status, body) {
  if (status.code !== grpc.status.OK) {
    throw new Error(`status ${status.code} (${status.details})`);
  }
  if (responses.length === 0 || responses[0].response !== 'request_headers') {
    throw new Error(`first response is ${responses[0] && responses[0].response}, expected request_headers`);
  }
  const bodies = responses.slice(1);
  const streamed = [];
  let endOfStream = 0;
  bodies.forEach((r, i) => {
    if (r.response !== 'request_body') {
      throw new Error(`response #${i + 1} is ${r.response}, expected request_body`);
    }
    const mutation = r.request_body.response && r.request_body.response.body_mutation;
    if (!mutation || mutation.mutation !== 'streamed_response') {
      throw new Error(`response #${i + 1} carries ${mutation && mutation.mutation}, expected streamed_response`);
    }
    if (endOfStream > 0) {
      throw new Error(`response #${i + 1} follows the end_of_stream chunk`);
    }
    if (mutation.streamed_response.body.length > 62000) {
      throw new Error(`response #${i + 1} streams ${mutation.streamed_response.body.length} bytes (> 62000)`);
    }
    streamed.push(mutation.streamed_response.body);
    if (mutation.streamed_response.end_of_stream) {
      endOfStream++;
    }
  });
  if (endOfStream !== 1) {
    throw new Error(`${endOfStream} streamed chunks carried end_of_stream, expected exactly 1`);
  }
  const echoed = Buffer.concat(streamed);
  if (!echoed.equals(body)) {
    throw new Error(`reassembled body differs: ${echoed.length} bytes back for ${body.length} sent`);
  }
  return `${responses.length} responses, ${bodies.length} body pieces, ${echoed.length} bytes echoed`;
}

async function fullDuplexPipelined(ctx) {
  const body = chatBody(3000);
  const call = ctx.extProc.Process({ deadline: deadline(ctx.timeoutMs) });
  const observed = observe(call);
  call.write(requestHeaders(body.length));
  for (const message of bodyChunks(body, [1, 1777])) {
    call.write(message);
  }
  call.end();
  const { responses, status } = await withTimeout(observed.done, ctx.timeoutMs, 'the end of the call');
  return verifyFullDuplex(responses, status, body);
}

async function responsesWhileRequestOpen(ctx) {
  const body = chatBody(2000);
  const [first, ...rest] = bodyChunks(body, [500, 1500]);
  const call = ctx.extProc.Process({ deadline: deadline(ctx.timeoutMs) });
  const observed = observe(call);
  call.write(requestHeaders(body.length));
  call.write(first);
  const headersResponse = await withTimeout(observed.nextResponse(1), ctx.timeoutMs, 'the headers response while the request is open');
  if (headersResponse.response !== 'request_headers') {
    throw new Error(`first response is ${headersResponse.response}, expected request_headers`);
  }
  rest.forEach((message) => call.write(message));
  call.end();
  const { responses, status } = await withTimeout(observed.done, ctx.timeoutMs, 'the end of the call');
  return `headers response before body end; ${verifyFullDuplex(responses, status, body)}`;
}

async function unknownMethod(ctx) {
  const client = new grpc.Client(ctx.options.extProc, grpc.credentials.createInsecure());
  try {
    const identity = (b) => b;
    const error = await new Promise((resolve) => {
      client.makeUnaryRequest('/envoy.service.ext_proc.v3.ExternalProcessor/NoSuchMethod', identity, identity,
        Buffer.alloc(0), { deadline: deadline(ctx.timeoutMs) }, (err) => resolve(err));
    });
    if (!error || error.code !== grpc.status.UNIMPLEMENTED) {
      throw new Error(`expected UNIMPLEMENTED, got ${error ? `${error.code} (${error.details})` : 'OK'}`);
    }
    return `UNIMPLEMENTED: ${error.details}`;
  } finally {
    client.close();
  }
}

function healthCheck(service, expectCode, expectStatus) {
  return async (ctx) => {
    const result = await new Promise((resolve) => {
      ctx.health.Check({ service }, { deadline: deadline(ctx.timeoutMs) }, (err, response) => resolve({ err, response }));
    });
    if (expectCode === grpc.status.OK) {
      if (result.err) {
        throw new Error(`error ${result.err.code} (${result.err.details})`);
      }
      if (result.response.status !== expectStatus) {
        throw new Error(`status ${result.response.status}, expected ${expectStatus}`);
      }
      return result.response.status;
    }
    if (!result.err || result.err.code !== expectCode) {
      throw new Error(`expected code ${expectCode}, got ${result.err ? result.err.code : 'OK'}`);
    }
    return `code ${result.err.code}`;
  };
}

async function healthWatch(ctx) {
  const call = ctx.health.Watch({ service: '' });
  call.on('error', () => {});
  try {
    const first = await withTimeout(new Promise((resolve, reject) => {
      call.once('data', resolve);
      call.once('status', (s) => reject(new Error(`stream ended with ${s.code} (${s.details}) before any update`)));
    }), ctx.timeoutMs, 'the first Watch update');
    if (first.status !== 'SERVING') {
      throw new Error(`first update ${first.status}, expected SERVING`);
    }
    return 'SERVING';
  } finally {
    call.cancel();
  }
}

async function healthList(ctx) {
  const result = await new Promise((resolve) => {
    ctx.health.List({}, { deadline: deadline(ctx.timeoutMs) }, (err, response) => resolve({ err, response }));
  });
  if (result.err) {
    throw new Error(`error ${result.err.code} (${result.err.details})`);
  }
  const statuses = result.response.statuses || {};
  const names = Object.keys(statuses);
  const extProc = statuses['envoy.service.ext_proc.v3.ExternalProcessor'];
  if (names.length !== 1 || !extProc || extProc.status !== 'SERVING') {
    throw new Error(`List answered ${JSON.stringify(statuses)}, expected only the ext_proc service SERVING`);
  }
  return 'ext_proc SERVING';
}

async function run(name, fn, ctx) {
  const started = process.hrtime.bigint();
  let ok = true;
  let detail;
  try {
    detail = await fn(ctx);
  } catch (error) {
    ok = false;
    detail = error && error.message ? error.message : String(error);
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  process.stdout.write(`${JSON.stringify({ case: name, ok, ms: Math.round(ms * 10) / 10, detail })}\n`);
  return ok;
}

async function main() {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`interop.js: ${error.message}\nusage: node interop.js <ext_proc host:port> [<health host:port>] [--proto-root DIR] [--timeout-ms N]\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write('usage: node interop.js <ext_proc host:port> [<health host:port>] [--proto-root DIR] [--timeout-ms N]\n');
    return 0;
  }

  const proto = loadProtos(options.protoRoot);
  const insecure = grpc.credentials.createInsecure();
  const ctx = {
    options,
    timeoutMs: options.timeoutMs,
    extProc: new proto.envoy.service.ext_proc.v3.ExternalProcessor(options.extProc, insecure),
    health: new proto.grpc.health.v1.Health(options.health, insecure),
  };

  const cases = [
    ['full_duplex_pipelined', fullDuplexPipelined],
    ['responses_while_request_open', responsesWhileRequestOpen],
    ['unknown_method_unimplemented', unknownMethod],
    ...HEALTH_SERVICES.map((s) => [`health_check_serving:${s || '(empty)'}`, healthCheck(s, grpc.status.OK, 'SERVING')]),
    // The endpoint picker without leader election answers every name alike (GIE v1.5.0 health.go).
    ['health_check_any_name_serving', healthCheck('inference-extension', grpc.status.OK, 'SERVING')],
    ['health_watch_serving', healthWatch],
    ['health_list_ext_proc', healthList],
  ];

  let failed = 0;
  for (const [name, fn] of cases) {
    if (!(await run(name, fn, ctx))) {
      failed++;
    }
  }
  ctx.extProc.close();
  ctx.health.close();
  return failed === 0 ? 0 : 1;
}

main().then((code) => { process.exitCode = code; }, (error) => {
  process.stderr.write(`interop.js: ${error && error.stack ? error.stack : error}\n`);
  process.exitCode = 1;
});
