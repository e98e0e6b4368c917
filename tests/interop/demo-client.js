#!/usr/bin/env node
// Sends a few chat completions to the endpoint picker the way Envoy would (full-duplex
// ext_proc, cleartext) and prints where each one was sent. Used by `./build.sh demo`.
//
// usage: node demo-client.js [host:port (default 127.0.0.1:9002)] [--requests N]
'use strict';

const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const args = process.argv.slice(2);
const target = args.find((a) => !a.startsWith('--') && !/^\d+$/.test(a)) || '127.0.0.1:9002';
const countIndex = args.indexOf('--requests');
const count = countIndex >= 0 ? Number(args[countIndex + 1]) : 8;

const definition = protoLoader.loadSync('envoy/service/ext_proc/v3/external_processor.proto',
  { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [path.resolve(__dirname, '..', '..', 'proto')] });
const proto = grpc.loadPackageDefinition(definition);
const client = new proto.envoy.service.ext_proc.v3.ExternalProcessor(target, grpc.credentials.createInsecure());

const header = (key, value) => ({ key, raw_value: Buffer.from(value, 'utf8') });

function pick(prompt) {
  return new Promise((resolve, reject) => {
    const body = Buffer.from(JSON.stringify({ model: 'meta-llama/Llama-3.1-8B-Instruct', messages: [{ role: 'user', content: prompt }] }));
    const call = client.Process();
    call.on('data', (message) => {
      if (message.response === 'immediate_response') {
        resolve(`HTTP ${message.immediate_response.status.code}: ${message.immediate_response.body}`);
        call.end();
      } else if (message.response === 'request_headers') {
        const set = message.request_headers.response.header_mutation.set_headers;
        const destination = set.find((h) => h.header.key === 'x-gateway-destination-endpoint');
        resolve(destination ? destination.header.raw_value.toString() : '(no destination header)');
        call.end();
      }
    });
    call.on('error', (error) => reject(error));
    call.write({
      request_headers: {
        headers: { headers: [header(':path', '/v1/chat/completions'), header(':method', 'POST'), header(':authority', 'demo'), header('content-type', 'application/json')] },
        end_of_stream: false,
      },
      protocol_config: { request_body_mode: 'FULL_DUPLEX_STREAMED', response_body_mode: 'FULL_DUPLEX_STREAMED' },
    });
    call.write({ request_body: { body, end_of_stream: true } });
  });
}

(async () => {
  const shared = 'You are a helpful assistant. '.repeat(40);
  for (let i = 0; i < count; i++) {
    // Every other request repeats a long prompt: prefix-cache affinity sends it back to the same server.
    const prompt = i % 2 === 0 ? `${shared} Question ${i}` : `A fresh question number ${i} ${Math.random()}`;
    const destination = await pick(prompt);
    process.stdout.write(`request ${i + 1} (${i % 2 === 0 ? 'shared long prefix' : 'new prompt'}) -> ${destination}\n`);
  }
  client.close();
})().catch((error) => {
  process.stderr.write(`demo-client: ${error.message}\n`);
  process.exit(1);
});
