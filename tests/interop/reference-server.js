#!/usr/bin/env node
// A reference pass-through ext_proc server on @grpc/grpc-js. It is NOT the product: it
// exists so the test and load tooling (interop.js, tests/Runtime.EndToEnd.Tests,
// perf/load/run-load.sh) can be checked without the Runtime binary. It takes the same
// command line as the runtime:
//
//   reference-server.js serve --grpc-port P --grpc-health-port H [--metrics-port M]
//                             [--secure-serving=false] [--bind-address 127.0.0.1]
//
// Behaviour follows docs of the runtime's default processor: FULL_DUPLEX_STREAMED echoes
// every body chunk as streamed_response in pieces of at most 62,000 B with exactly one
// end_of_stream (an empty one when trailers end the body), BUFFERED/STREAMED answer
// CONTINUE per message. Bad-input statuses are whatever grpc-js does, which may differ
// from the runtime's.
'use strict';

const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const MAX_CHUNK = 62000;

function parseArgs(argv) {
  const options = { grpcPort: 9002, healthPort: 9003, bind: '127.0.0.1' };
  const args = [...argv];
  if (args[0] === 'serve') {
    args.shift();
  }
  for (let i = 0; i < args.length; i++) {
    const [name, inline] = args[i].split('=', 2);
    const value = () => (inline !== undefined ? inline : args[++i]);
    switch (name) {
      case '--grpc-port': options.grpcPort = Number(value()); break;
      case '--grpc-health-port': options.healthPort = Number(value()); break;
      case '--bind-address': options.bind = value(); break;
      case '--metrics-port':
      case '--secure-serving': value(); break;
      default: process.stderr.write(`reference-server: ignoring ${args[i]}\n`);
    }
  }
  return options;
}

function continueResponse(kind) {
  return { [kind]: { response: { status: 'CONTINUE' } } };
}

function streamed(kind, body, endOfStream) {
  const pieces = [];
  for (let start = 0; start < body.length; start += MAX_CHUNK) {
    pieces.push(body.subarray(start, start + MAX_CHUNK));
  }
  if (pieces.length === 0) {
    pieces.push(Buffer.alloc(0));
  }
  return pieces.map((piece, i) => ({
    [kind]: {
      response: {
        body_mutation: { streamed_response: { body: piece, end_of_stream: endOfStream && i === pieces.length - 1 } },
      },
    },
  }));
}

function processStream(call) {
  const modes = { request: 'NONE', response: 'NONE' };
  const ended = { request: false, response: false };
  const seen = { request: false, response: false };
  let first = true;
  call.on('data', (req) => {
    if (first && req.protocol_config) {
      modes.request = req.protocol_config.request_body_mode;
      modes.response = req.protocol_config.response_body_mode;
    }
    first = false;
    const kind = req.request;
    if (!kind) {
      call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: 'ProcessingRequest sets no request field' });
      return;
    }
    const direction = kind.startsWith('request') ? 'request' : 'response';
    const duplex = modes[direction] === 'FULL_DUPLEX_STREAMED';
    if (kind.endsWith('_headers')) {
      call.write(continueResponse(kind));
    } else if (kind.endsWith('_body')) {
      if (duplex) {
        seen[direction] = true;
        ended[direction] = ended[direction] || req[kind].end_of_stream;
        streamed(kind, req[kind].body, req[kind].end_of_stream).forEach((r) => call.write(r));
      } else {
        call.write(continueResponse(kind));
      }
    } else if (kind.endsWith('_trailers')) {
      if (duplex && seen[direction] && !ended[direction]) {
        streamed(`${direction}_body`, Buffer.alloc(0), true).forEach((r) => call.write(r));
      }
      call.write({ [kind]: {} });
    }
  });
  call.on('end', () => call.end());
  call.on('error', () => {});
}

// The GIE v1.5.0 endpoint picker without leader election, once its pool has synced: every
// service name is SERVING; List names the ext_proc service only.
function healthCheck(call, callback) {
  callback(null, { status: 'SERVING' });
}

function healthWatch(call) {
  call.write({ status: 'SERVING' });
  call.on('cancelled', () => call.end());
}

function healthList(call, callback) {
  callback(null, { statuses: { 'envoy.service.ext_proc.v3.ExternalProcessor': { status: 'SERVING' } } });
}

function bind(server, address) {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
  });
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const proto = grpc.loadPackageDefinition(protoLoader.loadSync(
    ['envoy/service/ext_proc/v3/external_processor.proto', 'grpc/health/v1/health.proto'],
    { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [path.resolve(__dirname, '..', '..', 'proto')] }));

  const serverOptions = { 'grpc.max_receive_message_length': 64 * 1024 * 1024, 'grpc.max_concurrent_streams': 1 << 20 };
  const extProc = new grpc.Server(serverOptions);
  extProc.addService(proto.envoy.service.ext_proc.v3.ExternalProcessor.service, { Process: processStream });
  const health = new grpc.Server();
  health.addService(proto.grpc.health.v1.Health.service, { Check: healthCheck, Watch: healthWatch, List: healthList });

  await bind(extProc, `${options.bind}:${options.grpcPort}`);
  await bind(health, `${options.bind}:${options.healthPort}`);
  process.stdout.write(`reference-server: ext_proc on ${options.bind}:${options.grpcPort}, health on ${options.bind}:${options.healthPort}\n`);

  process.once('SIGTERM', () => {
    health.forceShutdown();
    extProc.tryShutdown(() => process.exit(0));
  });
}

main().catch((error) => {
  process.stderr.write(`reference-server: ${error.stack || error}\n`);
  process.exit(1);
});
