#!/usr/bin/env bash
# Seeds the fuzz corpora (fuzz/corpus/<target>/) from recorded real traffic.
#   scripts/fuzz_seeds.sh RECORD.jsonl   # cut seeds out of a `hub-server --record` file
#   scripts/fuzz_seeds.sh                # record one first: HUB_SERVER (default
#                                        # build/hub-server) --dev-auth, driven by
#                                        # fuzz/record_traffic.js through every event
# A record holds what each connection actor received: Socket.IO packets, attachments.
# Each target gets them in its own input format (fuzz/<target>.cpp says which): as
# Engine.IO packets and payloads, masked WebSocket frames, polling HTTP requests, event
# arrays, JSON arguments, and the tokens of the CONNECTs. Seeds are named by content
# (seed-<sha1>), at most MAX_SEEDS (default 40) new ones per target; files already there
# (regression seeds) stay. Records hold tokens: only use development ones here.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${FUZZ_CORPUS:-fuzz/corpus}
max=${MAX_SEEDS:-40}

record=${1:-}
if [[ -z $record ]]; then
  server=${HUB_SERVER:-build/hub-server}
  [[ -x $server ]] || { echo "fuzz_seeds: no $server (scripts/build.sh, or pass a record)" >&2; exit 1; }
  work=$(mktemp -d)
  trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
  port=$((20000 + RANDOM % 20000))
  "$server" --dev-auth --host 127.0.0.1 --port "$port" --data-dir "$work/data" --record "$work/rec.jsonl" \
    --log-level warn > "$work/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 50); do grep -q listening "$work/server.log" && break; sleep 0.1; done
  node fuzz/record_traffic.js "http://127.0.0.1:$port"
  node sim/ctest/record_traffic.js "http://127.0.0.1:$port"
  sleep 0.2
  record=$work/rec.jsonl
fi

python3 - "$record" "$out" "$max" <<'PY'
import base64, hashlib, json, os, re, struct, sys

record, out, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
conns = {}
for line in open(record, encoding='utf-8'):
    r = json.loads(line)
    if r['ev'] == 'text':
        conns.setdefault(r['conn'], []).append(('text', r['data'].encode()))
    elif r['ev'] == 'bin':
        conns.setdefault(r['conn'], []).append(('bin', base64.b64decode(r['data'])))

# Socket.IO packets with their attachments: [(text, [attachment...])].
header = re.compile(rb'^([0-6])(?:(\d+)-)?(/[^,]*,)?(\d+)?')
packets = []
for msgs in conns.values():
    i = 0
    while i < len(msgs):
        kind, data = msgs[i]
        i += 1
        if kind != 'text':
            continue
        m = header.match(data)
        n = int(m.group(2)) if m and m.group(2) else 0
        atts = [d for k, d in msgs[i:i + n] if k == 'bin']
        i += len(atts)
        packets.append((data, atts))

def sio_parts(text):
    m = header.match(text)
    return (m.group(1), text[m.end():]) if m else (None, b'')

seeds = {}
def add(target, data):
    if data and len(data) <= 8192:
        seeds.setdefault(target, {}).setdefault(hashlib.sha1(data).hexdigest(), data)

def ws_frame(opcode, payload, fin=True, key=b'\x1f\x8b\x3c\xa5'):
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    if n < 126: head = struct.pack('!BB', b0, 0x80 | n)
    elif n < 65536: head = struct.pack('!BBH', b0, 0xfe, n)
    else: head = struct.pack('!BBQ', b0, 0xff, n)
    return head + key + bytes(c ^ key[i % 4] for i, c in enumerate(payload))

def b64(b): return base64.b64encode(b)

def http(method, target, body=None, headers=(), chunked=False):
    h = [f'{method} {target} HTTP/1.1'.encode(), b'Host: 127.0.0.1:3000'] + [x.encode() for x in headers]
    if body is not None and chunked:
        h.append(b'Transfer-Encoding: chunked')
        half = len(body) // 2
        parts = [body[:half], body[half:]]
        body = b''.join(b'%x\r\n%s\r\n' % (len(p), p) for p in parts if p) + b'0\r\n\r\n'
    elif body is not None:
        h.append(b'Content-Length: %d' % len(body))
    return b'\r\n'.join(h) + b'\r\n\r\n' + (body or b'')

tokens = []
polling = []  # Engine.IO payloads a polling client would POST
for text, atts in packets:
    t, data = sio_parts(text)
    # socketio: the packet, then each attachment as 'b' + raw bytes.
    add('socketio', text + b''.join(b'\x1eb' + a for a in atts if b'\x1e' not in a))
    # engineio: the text packet alone, and as a payload with base64 attachments.
    add('engineio', b'4' + text)
    body = b'\x1e'.join([b'4' + text] + [b'b' + b64(a) for a in atts])
    add('engineio', body)
    polling.append(body)
    # ws_frame: byte 0 = how the reads are cut; masked frames as a browser sends them.
    frames = ws_frame(1, b'4' + text) + b''.join(ws_frame(2, a) for a in atts)
    for cut in (0, 7, 255):
        add('ws_frame', bytes([cut]) + frames)
    if data:
        add('json_args', data)
    if t in (b'2', b'5') and data:
        add('payloads', data)
    if t == b'0' and data:
        try:
            auth = json.loads(data)
        except ValueError:
            auth = None
        if isinstance(auth, dict) and isinstance(auth.get('token'), str):
            tokens.append(auth['token'].encode())

# Engine.IO payloads of several packets, and the bare control packets.
for i in range(0, max(0, len(polling) - 2), 3):
    add('engineio', b'\x1e'.join(polling[i:i + 3]))
for p in (b'1', b'2', b'3', b'5', b'6', b'2probe', b'3probe'):
    add('engineio', p)

# ws_frame: a fragmented text message with a ping between the fragments, and a close.
for text, _ in packets[:6]:
    msg = b'4' + text
    half = len(msg) // 2
    frames = ws_frame(1, msg[:half], fin=False) + ws_frame(9, b'hi') + ws_frame(0, msg[half:])
    add('ws_frame', b'\x03' + frames + ws_frame(8, struct.pack('!H', 1000) + b'bye'))

# jwt_hs256: byte 0 = mode (bit 0: the harness signs; bits 1-2: audience, issuer rules;
# bit 3: JSON text that the harness encodes).
for tok in tokens:
    add('jwt_hs256', b'\x00' + tok)
    if tok.count(b'.') != 2:
        continue
    signing_input = tok[:tok.rfind(b'.')]
    add('jwt_hs256', b'\x01' + signing_input)
    add('jwt_hs256', b'\x07' + signing_input)
    # The same as JSON text, encoded by the harness (mode bit 3).
    head, claims = (base64.urlsafe_b64decode(part + b'=' * (-len(part) % 4)) for part in signing_input.split(b'.'))
    add('jwt_hs256', b'\x09' + head + b'\n' + claims)
    add('jwt_hs256', b'\x0f' + head + b'\n' + claims[:-1] + b',"aud":["hub"],"iss":"auth","nbf":1.5e9}')

# http_request: byte 0 = how the reads are cut; polling and WebSocket requests as a
# socket.io-client sends them, with the recorded payloads as bodies.
sid = 'Yk3fT0dAbcDEF123AAAB'
poll = f'/socket.io/?EIO=4&transport=polling&t=PzX1a&sid={sid}'
ctype = 'Content-Type: text/plain;charset=UTF-8'
reqs = [
    http('GET', '/socket.io/?EIO=4&transport=polling&t=PzX1a', headers=['Accept: */*', 'Connection: keep-alive']),
    http('GET', poll),
    http('GET', f'/socket.io/?EIO=4&transport=websocket&sid={sid}', headers=[
        'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Origin: http://127.0.0.1:3000']),
    http('OPTIONS', poll, headers=['Origin: http://localhost:5173', 'Access-Control-Request-Method: POST']),
    http('HEAD', '/healthz'),
    http('GET', '/metrics'),
    http('POST', '/dev/token', b'{"userId":"alice","userName":"Alice","projects":["p1"]}',
         headers=['Content-Type: application/json']),
]
if tokens:
    auth = 'Authorization: Bearer ' + tokens[0].decode()
    reqs.append(http('GET', '/api/notifications?limit=20&before=9', headers=[auth]))
    reqs.append(http('POST', '/api/notifications',
                     b'{"userId":"bob","title":"Hi","message":"m","type":"chat","data":{"k":1}}',
                     headers=[auth, 'Content-Type: application/json']))
for body in polling[:8]:
    reqs.append(http('POST', poll, body, headers=[ctype]))
    reqs.append(http('POST', poll, body, headers=[ctype], chunked=True))
for i, r in enumerate(reqs):
    add('http_request', bytes([(0, 5, 255)[i % 3]]) + r)
# Keep-alive: a poll, then a POST of what the record's first client sent, pipelined.
if polling:
    add('http_request', b'\x10' + reqs[1] + http('POST', poll, polling[0], headers=[ctype]))

for target, files in sorted(seeds.items()):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    written = 0
    for digest, data in files.items():  # in record order: the first are the most varied
        path = os.path.join(d, 'seed-' + digest)
        if os.path.exists(path):
            continue
        if written >= limit:
            break
        with open(path, 'wb') as f:
            f.write(data)
        written += 1
    print(f'fuzz_seeds: {target}: {written} new seed(s), {len(os.listdir(d))} in {d}')
PY
