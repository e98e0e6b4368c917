#!/usr/bin/env python3
"""Check a server's reply to one exchange file from make-exchange.py.

usage: check-exchange.py EXCHANGE_FILE RESPONSE_FILE

RESPONSE_FILE holds the raw gRPC response body (for example `nghttp ... > response.bin`).
Checks what a pass-through must do in FULL_DUPLEX_STREAMED mode, per direction: the
headers response first, then streamed_response body pieces (at most 62,000 B) with
exactly one end_of_stream, and the pieces reassemble to the body that was sent.
Standard library only; prints one line and exits 1 on the first problem.
"""

import struct
import sys

MAX_CHUNK = 62000


def frames(data):
    offset = 0
    while offset < len(data):
        if len(data) - offset < 5:
            raise ValueError(f"truncated gRPC prefix at byte {offset}")
        flag, length = struct.unpack_from(">BI", data, offset)
        if flag != 0:
            raise ValueError(f"compressed flag {flag} at byte {offset}")
        if offset + 5 + length > len(data):
            raise ValueError(f"truncated gRPC message at byte {offset}")
        yield data[offset + 5 : offset + 5 + length]
        offset += 5 + length


def varint(data, offset):
    value = shift = 0
    while True:
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, offset
        shift += 7


def fields(data):
    """Parse one message into {field number: [values]}; LEN values stay bytes."""
    out = {}
    offset = 0
    while offset < len(data):
        key, offset = varint(data, offset)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, offset = varint(data, offset)
        elif wire_type == 2:
            length, offset = varint(data, offset)
            value = data[offset : offset + length]
            offset += length
        elif wire_type == 1:
            value, offset = data[offset : offset + 8], offset + 8
        elif wire_type == 5:
            value, offset = data[offset : offset + 4], offset + 4
        else:
            raise ValueError(f"unsupported wire type {wire_type}")
        out.setdefault(number, []).append(value)
    return out


def first(message, number, default=None):
    values = message.get(number)
    return values[0] if values else default


def sent_bodies(exchange):
    # ProcessingRequest: request_body = 4, response_body = 5; HttpBody.body = 1
    bodies = {"request": bytearray(), "response": bytearray()}
    sent = {"request": False, "response": False}
    for payload in frames(exchange):
        message = fields(payload)
        for number, direction in ((4, "request"), (5, "response")):
            if number in message:
                sent[direction] = True
                bodies[direction] += first(fields(first(message, number)), 1, b"")
    return bodies, sent


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    with open(argv[1], "rb") as f:
        exchange = f.read()
    with open(argv[2], "rb") as f:
        response = f.read()

    bodies, sent = sent_bodies(exchange)
    # ProcessingResponse oneof: 1 request_headers, 2 response_headers, 3 request_body,
    # 4 response_body, 5 request_trailers, 6 response_trailers, 7 immediate_response.
    kinds = {1: ("request", "headers"), 2: ("response", "headers"), 3: ("request", "body"),
             4: ("response", "body"), 5: ("request", "trailers"), 6: ("response", "trailers")}
    state = {d: {"headers": False, "eos": 0, "body": bytearray(), "count": 0} for d in ("request", "response")}
    total = 0
    for index, payload in enumerate(frames(response)):
        total += 1
        message = fields(payload)
        if 7 in message:
            raise SystemExit(f"check-exchange: FAIL response #{index} is an immediate_response")
        kind = next((kinds[n] for n in kinds if n in message), None)
        if kind is None:
            raise SystemExit(f"check-exchange: FAIL response #{index} sets no known response field: {sorted(message)}")
        direction, part = kind
        s = state[direction]
        s["count"] += 1
        if part == "headers":
            if s["count"] != 1:
                raise SystemExit(f"check-exchange: FAIL {direction} headers response is not first of its direction")
            s["headers"] = True
        elif part == "body":
            if not s["headers"]:
                raise SystemExit(f"check-exchange: FAIL {direction} body response #{index} before its headers response")
            common = fields(first(fields(first(message, 3 if direction == "request" else 4)), 1, b""))
            mutation = fields(first(common, 3, b""))
            if 3 not in mutation:
                raise SystemExit(f"check-exchange: FAIL {direction} body response #{index} has no streamed_response")
            streamed = fields(first(mutation, 3))
            piece = first(streamed, 1, b"")
            if len(piece) > MAX_CHUNK:
                raise SystemExit(f"check-exchange: FAIL {direction} piece of {len(piece)} B exceeds {MAX_CHUNK}")
            if s["eos"]:
                raise SystemExit(f"check-exchange: FAIL {direction} piece after end_of_stream")
            s["body"] += piece
            s["eos"] += 1 if first(streamed, 2, 0) else 0

    for direction in ("request", "response"):
        s = state[direction]
        if not sent[direction]:
            continue
        if not s["headers"]:
            raise SystemExit(f"check-exchange: FAIL no {direction} headers response")
        if s["eos"] != 1:
            raise SystemExit(f"check-exchange: FAIL {direction} body: {s['eos']} end_of_stream pieces, expected 1")
        if bytes(s["body"]) != bytes(bodies[direction]):
            raise SystemExit(f"check-exchange: FAIL {direction} body: {len(s['body'])} B echoed, {len(bodies[direction])} B sent, or content differs")

    print(f"check-exchange: ok, {total} responses, request body {len(state['request']['body'])} B"
          + (f", response body {len(state['response']['body'])} B" if sent["response"] else ""))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (ValueError, IndexError) as error:
        print(f"check-exchange: FAIL malformed response: {error}", file=sys.stderr)
        sys.exit(1)
