#!/usr/bin/env python3
"""Writes the seed corpus (corpus/TARGET/NAME): small inputs of our own, one per shape each
parser must handle. Run from this directory; the output is checked in, so rerun it only when
a seed changes. afl-fuzz starts from these; CorpusReplayTests replays them."""
import json, os, struct

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F; n >>= 7
        if n: out.append(b | 0x80)
        else: out.append(b); return bytes(out)

def field(num, wire, payload):
    tag = varint((num << 3) | wire)
    if wire == 0: return tag + varint(payload)
    return tag + varint(len(payload)) + payload

def ld(num, payload): return field(num, 2, payload)

def header(k, v, raw=True): return ld(1, ld(1, k.encode()) + ld(3 if raw else 2, v.encode()))

def header_map(pairs, raw=True): return b"".join(header(k, v, raw) for k, v in pairs)

seeds = {}
hdrs = [(":method", "POST"), (":path", "/v1/chat/completions"), ("content-type", "application/json"), ("x-request-id", "r-1")]
seeds["extproc-codec"] = {
    "request-headers": ld(2, ld(1, header_map(hdrs)) + field(3, 0, 0)),
    "request-headers-value-field": ld(2, ld(1, header_map(hdrs, raw=False)) + field(3, 0, 1)),
    "response-headers": ld(3, ld(1, header_map([(":status", "200"), ("content-type", "text/event-stream")]))),
    "request-body": ld(4, ld(1, b'{"model":"m","prompt":"hi"}') + field(2, 0, 1)),
    "response-body": ld(5, ld(1, b'data: {"usage":{"prompt_tokens":3}}\n\n') + field(2, 0, 0)),
    "request-trailers": ld(6, ld(1, header_map([("grpc-status", "0")]))),
    "response-trailers": ld(7, ld(1, header_map([("x-t", "1")]))),
    "metadata-and-config": ld(2, ld(1, header_map(hdrs))) + ld(8, ld(1, ld(1, b"envoy.lb") + ld(2, ld(1, ld(1, b"x-gateway-destination-endpoint-subset") + ld(2, ld(6, ld(1, ld(3, b"10.0.0.1:8000")))))))) + field(10, 0, 1) + ld(11, field(1, 0, 4) + field(2, 0, 4) + field(3, 0, 1)),
    "unknown-fields": ld(9, b"\x0a\x00") + field(99, 0, 7) + varint((12 << 3) | 5) + b"\x00\x00\x00\x00" + ld(4, ld(1, b"x")),
    "empty": b"",
}

def frame(msg, flag=0): return bytes([flag]) + struct.pack(">I", len(msg)) + msg
seeds["grpc-frame"] = {
    "generate-text": frame(ld(3, b"Hello there") + field(5, 0, 1)),
    "generate-tokenized": frame(ld(2, ld(1, b"original text") + ld(2, b"\x01\x02\x03"))),
    "embed": frame(ld(2, ld(1, b"embed me"))),
    "compressed": frame(ld(3, b"x"), flag=1),
    "short-header": b"\x00\x00\x00",
    "stream-usage": frame(ld(1, field(2, 0, 5) + field(3, 0, 7) + field(4, 0, 1))) + frame(ld(2, field(3, 0, 5) + field(4, 0, 9) + field(5, 0, 2))),
    "embed-usage": frame(ld(1, b"\x00\x00\x80\x3f") + field(2, 0, 12)),
}

seeds["json-scanner"] = {
    "chat": b'{"model":"llama","messages":[{"role":"user","content":"hi"}],"stream":true,"max_tokens":16}',
    "completion": b'{"model":"m\\u0065","prompt":["a","b"],"usage":{"prompt_tokens":1}}',
    "duplicates": b'{"model":"a","model":"b", "stream" : false }',
    "escapes": b'{"model":"\\ud83d\\ude00\\n\\t\\"","prompt":"\xc3\xa9"}',
    "not-object": b'[1,2,3]',
    "truncated": b'{"model":"x","messages":[{',
    "bad-utf8": b'{"model":"\xff"}',
    "deep": b'{"prompt":' + b'[' * 70 + b']' * 70 + b'}',
    "numbers": b'{"max_tokens":-1.5e300,"stream":null,"model":12}',
    "empty-object": b'{}',
}
seeds["json-rewriter"] = dict(seeds["json-scanner"])
seeds["json-rewriter"]["with-added"] = b'{"model":"m","x-fuzz-added":1}'
seeds["json-rewriter"]["stream-last"] = b'{"model":"m","max_tokens":3,"stream":true}'

seeds["sse"] = {
    "chat-stream": b'data: {"choices":[{"delta":{"content":"a"}}]}\n\ndata: {"usage":{"prompt_tokens":5,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":1}}}\n\ndata: [DONE]\n\n',
    "responses-api": b'event: response.completed\ndata: {"usage":{"input_tokens":4,"output_tokens":6}}\n\n',
    "crlf": b'data: {"usage":{"prompt_tokens":1}}\r\n\r\ndata: [DONE]\r\n\r\n',
    "no-trailing-blank": b'data: {"usage":{"prompt_tokens":9}}',
    "comments": b': keep-alive\n\nid: 3\nretry: 10\ndata: {"x":1}\n\n',
    "split-boundary": b'data: {"a":1}\n\ndata: {"usage":{"prompt_tokens":2}}\n\n',
}

seeds["prometheus"] = {
    "vllm": b'# HELP vllm:num_requests_waiting Waiting.\n# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{model_name="m"} 3\nvllm:num_requests_running{model_name="m"} 1\nvllm:gpu_cache_usage_perc{model_name="m"} 0.25\nvllm:kv_cache_usage_perc 0.5\nvllm:lora_requests_info{max_lora="4",running_lora_adapters="a,b",waiting_lora_adapters=""} 1.7e9\nvllm:cache_config_info{block_size="16",num_gpu_blocks="1000"} 1\n',
    "sglang": b'sglang:num_queue_reqs{model_name="x"} 2\nsglang:num_running_reqs 4\nsglang:token_usage 0.1\n',
    "escapes-and-timestamps": b'm{a="x\\"y\\\\z\\n",b="",} 1 1700000000000\nm2 +Inf\nm3 NaN\nm4 -0x1p3\n',
    "malformed": b'{a="b"} 1\n9bad 1\nname{a="unterminated} 1\nname{a=b} 1\nname 1 2 3\nname\n\r\n',
    "trtllm": b'kv_cache_utilization 0.3\nnum_requests_waiting 0\nnum_requests_running 2\n',
}

config_min = b"apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: EndpointPickerConfig\n"
seeds["config-yaml"] = {
    "minimal": config_min,
    "plugins": config_min + b"plugins:\n- type: queue-scorer\n- type: kv-cache-utilization-scorer\n- name: picker\n  type: max-score-picker\nschedulingProfiles:\n- name: default\n  plugins:\n  - pluginRef: queue-scorer\n    weight: 2\n  - pluginRef: picker\n",
    "flow-control": config_min + b"featureGates:\n- flowControl\nflowControl:\n  maxBytes: 1Gi\n  defaultRequestTTL: 30s\n",
    "unknown-field": config_min + b"bogus: 1\nplugins:\n- type: nope\n",
    "anchors": config_min + b"x: &a {k: [1, 2]}\ny: *a\n",
    "bad-yaml": b"plugins: [\n- : :\n\t",
    "multi-doc": config_min + b"---\n" + config_min,
}

pool = b"apiVersion: inference.networking.k8s.io/v1\nkind: InferencePool\nmetadata:\n  name: pool\nspec:\n  selector:\n    matchLabels:\n      app: vllm\n  targetPorts:\n  - number: 8000\n  endpointPickerRef:\n    name: epp\n    port:\n      number: 9002\n"
pod = b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p1\n  labels:\n    app: vllm\nstatus:\n  podIP: 10.0.0.1\n  conditions:\n  - type: Ready\n    status: \"True\"\n"
objective = b"apiVersion: inference.networking.x-k8s.io/v1alpha2\nkind: InferenceObjective\nmetadata:\n  name: obj\nspec:\n  priority: 2\n  poolRef:\n    name: pool\n"
endpoint_list = b"apiVersion: runtime.dev/v1\nkind: EndpointList\nmetadata:\n  name: sims\nlabels:\n  app: vllm\npods:\n- name: a\n  address: 127.0.0.1\n- name: b\n  address: 127.0.0.2\n  ready: false\n"
seeds["manifests"] = {
    "pool": pool,
    "pool-and-pods": pool + b"---\n" + pod + b"---\n" + objective,
    "configmap": b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: base-models\n  labels:\n    inference.networking.k8s.io/bbr-managed: \"true\"\ndata:\n  baseModel: llama\n  adapters: |\n    - a\n    - b\n",
    "rewrite": b"apiVersion: inference.networking.x-k8s.io/v1alpha2\nkind: InferenceModelRewrite\nmetadata:\n  name: rw\nspec:\n  poolRef:\n    name: pool\n  rules:\n  - matches:\n    - model:\n        value: food\n    targets:\n    - modelRewrite: food-v2\n      weight: 1\n",
    "list-json": json.dumps({"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}}]}).encode(),
    "broken": b"kind: [\n",
}
seeds["endpoint-list"] = {
    "yaml": endpoint_list,
    "json": json.dumps({"apiVersion": "runtime.dev/v1", "kind": "EndpointList", "metadata": {"name": "l", "namespace": "ns"}, "addresses": ["10.0.0.1:8000", "10.0.0.2"], "pods": [{"name": "p", "address": "[::1]:9000"}]}).encode(),
    "flag-list": b"a=127.0.0.1:8001,b=127.0.0.1:8002",
    "flag-bad": b"a=host:99999,=x,b",
    "missing-name": b"apiVersion: runtime.dev/v1\nkind: EndpointList\npods:\n- address: 1.2.3.4\n",
}

ev = lambda t, o: (json.dumps({"type": t, "object": o}) + "\n").encode()
kpool = {"apiVersion": "inference.networking.k8s.io/v1", "kind": "InferencePool", "metadata": {"name": "pool", "namespace": "ns", "resourceVersion": "5"}, "spec": {"selector": {"matchLabels": {"app": "v"}}, "targetPorts": [{"number": 8000}], "endpointPickerRef": {"name": "epp", "port": {"number": 9002}}}}
kpod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns", "labels": {"app": "v"}, "resourceVersion": "6"}, "status": {"podIP": "10.0.0.9", "conditions": [{"type": "Ready", "status": "True"}]}}
seeds["kube-watch"] = {
    "added-pool": ev("ADDED", kpool),
    "pod-events": ev("ADDED", kpod) + ev("MODIFIED", kpod) + ev("DELETED", kpod),
    "bookmark": ev("BOOKMARK", {"kind": "Pod", "metadata": {"resourceVersion": "12"}}),
    "gone": ev("ERROR", {"kind": "Status", "code": 410, "message": "too old"}),
    "list-page": json.dumps({"kind": "PodList", "metadata": {"resourceVersion": "7", "continue": "x"}, "items": [kpod]}).encode(),
    "configmap": ev("ADDED", {"kind": "ConfigMap", "metadata": {"name": "c", "namespace": "ns"}, "data": {"baseModel": "m"}}),
    "malformed-line": b'{"type":"ADDED","object":{\n{"type":1}\n[]\n',
    "no-final-newline": ev("ADDED", kpod).rstrip(b"\n"),
}

for target, inputs in seeds.items():
    os.makedirs(f"corpus/{target}", exist_ok=True)
    for name, data in inputs.items():
        with open(f"corpus/{target}/{name}", "wb") as f:
            f.write(data)
print(sum(len(v) for v in seeds.values()), "seeds for", len(seeds), "targets")
