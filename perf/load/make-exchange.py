#!/usr/bin/env python3
"""Write one Envoy ext_proc full-duplex exchange as gRPC-framed ProcessingRequests.

The output is exactly the request body of one Process stream as Envoy sends it in
FULL_DUPLEX_STREAMED mode: request headers (with protocol_config on this first
message), then the body split into chunks, the last one with end_of_stream. With
--response-body-bytes the response phase follows on the same stream (response headers,
then the response body chunks). h2load sends the file as-is with -d.

Protobuf is encoded by hand (standard library only). Field numbers follow
envoy/service/ext_proc/v3/external_processor.proto; header values go in raw_value only,
as Envoy sends them. The chat-completions body matches
tests/Runtime.TestSupport/ExtProc/ChatCompletionBodies.cs byte for byte.
"""

import argparse
import struct
import sys

BODY_SEND_MODES = {
    "NONE": 0,
    "STREAMED": 1,
    "BUFFERED": 2,
    "BUFFERED_PARTIAL": 3,
    "FULL_DUPLEX_STREAMED": 4,
}

DEFAULT_MODEL = "meta-llama/Llama-3.1-8B-Instruct"
FILLER = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
SUFFIX = '"}],"max_tokens":128,"stream":true}'

# Wire types.
VARINT = 0
LEN = 2


def varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field(number, wire_type, payload):
    key = varint((number << 3) | wire_type)
    if wire_type == VARINT:
        return key + varint(payload)
    return key + varint(len(payload)) + payload


def header_value(key, value):
    # HeaderValue { key = 1; raw_value = 3 }
    return field(1, LEN, key.encode("ascii")) + field(3, LEN, value.encode("utf-8"))


def header_map(headers):
    # HeaderMap { repeated HeaderValue headers = 1 }
    return b"".join(field(1, LEN, header_value(k, v)) for k, v in headers)


def http_headers(headers, end_of_stream):
    # HttpHeaders { headers = 1; end_of_stream = 3 }
    out = field(1, LEN, header_map(headers))
    if end_of_stream:
        out += field(3, VARINT, 1)
    return out


def http_body(body, end_of_stream):
    # HttpBody { body = 1; end_of_stream = 2 } (proto3: defaults are not written)
    out = field(1, LEN, body) if body else b""
    if end_of_stream:
        out += field(2, VARINT, 1)
    return out


def protocol_config(request_mode, response_mode):
    # ProtocolConfiguration { request_body_mode = 1; response_body_mode = 2 }
    out = b""
    if request_mode:
        out += field(1, VARINT, request_mode)
    if response_mode:
        out += field(2, VARINT, response_mode)
    return out


def grpc_frame(message):
    return struct.pack(">BI", 0, len(message)) + message


def chat_completion_body(total_bytes, model):
    prefix = (
        '{"model":"' + model + '","messages":[{"role":"system","content":"You are a helpful assistant."},'
        '{"role":"user","content":"'
    )
    fill = total_bytes - len(prefix) - len(SUFFIX)
    if fill < 0:
        raise ValueError(f"--body-bytes must be at least {len(prefix) + len(SUFFIX)} for model {model!r}")
    text = prefix + (FILLER * (fill // len(FILLER) + 1))[:fill] + SUFFIX
    return text.encode("ascii")


def sse_body(total_bytes):
    event = 'data: {"choices":[{"index":0,"delta":{"content":"token "}}]}\n\n'
    done = "data: [DONE]\n\n"
    if total_bytes < len(done):
        raise ValueError(f"--response-body-bytes must be 0 or at least {len(done)}")
    events = event * ((total_bytes - len(done)) // len(event) + 1)
    return (events[: total_bytes - len(done)] + done).encode("ascii")


def chunks(data, size):
    return [data[i : i + size] for i in range(0, len(data), size)]


def body_messages(body_field, data, chunk_bytes, final_empty_chunk):
    messages = []
    pieces = chunks(data, chunk_bytes)
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1 and not final_empty_chunk
        messages.append(field(body_field, LEN, http_body(piece, last)))
    if final_empty_chunk or not pieces:
        messages.append(field(body_field, LEN, http_body(b"", True)))
    return messages


def build(args):
    body = chat_completion_body(args.body_bytes, args.model)
    request_headers = [
        (":authority", args.authority),
        (":path", args.path),
        (":method", "POST"),
        (":scheme", "http"),
        ("content-type", "application/json"),
        ("content-length", str(len(body))),
        ("user-agent", "runtime-load"),
        ("x-forwarded-proto", "http"),
        ("x-request-id", "7f2a3d1e-5c2b-4d0e-9a61-3b8f1e0c9d42"),
    ]

    # ProcessingRequest { request_headers = 2; response_headers = 3; request_body = 4;
    #                     response_body = 5; protocol_config = 11 }
    first = field(2, LEN, http_headers(request_headers, end_of_stream=False))
    first += field(11, LEN, protocol_config(BODY_SEND_MODES[args.request_body_mode], BODY_SEND_MODES[args.response_body_mode]))
    messages = [first]
    messages += body_messages(4, body, args.chunk_bytes, args.final_empty_chunk)

    if args.response_body_bytes:
        response = sse_body(args.response_body_bytes)
        response_headers = [(":status", "200"), ("content-type", "text/event-stream")]
        messages.append(field(3, LEN, http_headers(response_headers, end_of_stream=False)))
        messages += body_messages(5, response, args.chunk_bytes, args.final_empty_chunk)

    return b"".join(grpc_frame(m) for m in messages), len(messages)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--body-bytes", type=int, default=1024, help="size of the JSON request body (default 1024)")
    parser.add_argument("--chunk-bytes", type=int, default=62000, help="largest body chunk per message (default 62000)")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--path", default="/v1/chat/completions", help=":path of the proxied request")
    parser.add_argument("--authority", default="gateway.test", help=":authority of the proxied request")
    parser.add_argument("--request-body-mode", choices=BODY_SEND_MODES, default="FULL_DUPLEX_STREAMED")
    parser.add_argument("--response-body-mode", choices=BODY_SEND_MODES, default="FULL_DUPLEX_STREAMED")
    parser.add_argument("--final-empty-chunk", action="store_true",
                        help="end the body with an extra empty HttpBody{end_of_stream}, as Envoy sometimes does")
    parser.add_argument("--response-body-bytes", type=int, default=0,
                        help="also send the response phase with an SSE body of this size (default 0: request phase only)")
    parser.add_argument("-o", "--output", required=True, help="file to write, or - for stdout")
    args = parser.parse_args(argv)
    if args.chunk_bytes <= 0:
        parser.error("--chunk-bytes must be positive")

    try:
        data, count = build(args)
    except ValueError as error:
        parser.error(str(error))

    if args.output == "-":
        sys.stdout.buffer.write(data)
    else:
        with open(args.output, "wb") as out:
            out.write(data)
    print(f"make-exchange: {count} messages, {len(data)} bytes, body {args.body_bytes} B"
          + (f", response body {args.response_body_bytes} B" if args.response_body_bytes else ""),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
