"""An independent VeniceReadService client on gRPC C-core (python3-grpcio).

It builds VeniceClientRequest bytes by hand from the field numbers in
proto/VeniceReadService.proto and parses VeniceServerResponse the same way, so it shares
no code with Rialto. Reads a JSON spec on stdin:
  {"target": "127.0.0.1:7070", "tls": {"ca": PATH, "cert": PATH, "key": PATH} | null,
   "calls": [{"method": "get" | "batchGet" | "countByValue" | "<any>",
              "request": {"partition": 1, "keyString": "...", "keyBytesHex": "...",
                          "resourceName": "...", "isStreamingRequest": true, ...}
              | "rawHex": "<bytes sent as the message>"}]}
and prints one JSON result per call: {"code": <grpc status>, "details": "...",
"response": {...} | null}.
"""
import json
import sys

import grpc

SERVICE = "/com.linkedin.venice.protocols.VeniceReadService/"


def varint(n):
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_varint(number, value):
    return varint(number << 3) + varint(value)


def field_bytes(number, value):
    return varint((number << 3) | 2) + varint(len(value)) + value


def encode_request(r):
    out = b""
    if r.get("partition"):
        out += field_varint(1, r["partition"])
    if r.get("keyString"):
        out += field_bytes(2, r["keyString"].encode("utf-8"))
    if r.get("keyBytesHex"):
        out += field_bytes(3, bytes.fromhex(r["keyBytesHex"]))
    if r.get("resourceName"):
        out += field_bytes(5, r["resourceName"].encode("utf-8"))
    for number, name in ((7, "isStreamingRequest"), (8, "isRetryRequest"), (9, "isBatchRequest")):
        if r.get(name):
            out += field_varint(number, 1)
    if r.get("method"):
        out += field_bytes(10, r["method"].encode("utf-8"))
    return out


def read_varint(buf, pos):
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return result, pos


def decode_response(buf):
    res = {"schemaId": 0, "dataHex": "", "compressionStrategy": 0, "responseRCU": 0,
           "isStreamingResponse": False, "errorCode": 0, "errorMessage": ""}
    pos = 0
    while pos < len(buf):
        tag, pos = read_varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = read_varint(buf, pos)
            if number == 1:
                value &= 0xFFFFFFFF
                res["schemaId"] = (value >> 1) ^ -(value & 1)
            elif number == 3:
                res["compressionStrategy"] = value
            elif number == 4:
                res["responseRCU"] = value
            elif number == 5:
                res["isStreamingResponse"] = value != 0
            elif number == 6:
                value &= 0xFFFFFFFF
                res["errorCode"] = value - (1 << 32) if value >= (1 << 31) else value
        elif wire == 2:
            length, pos = read_varint(buf, pos)
            value = buf[pos:pos + length]
            pos += length
            if number == 2:
                res["dataHex"] = value.hex()
            elif number == 7:
                res["errorMessage"] = value.decode("utf-8")
        else:
            raise ValueError("unexpected wire type %d" % wire)
    return res


def main():
    spec = json.load(sys.stdin)
    options = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]
    tls = spec.get("tls")
    if tls:
        def read(path):
            if not path:
                return None
            with open(path, "rb") as f:
                return f.read()
        creds = grpc.ssl_channel_credentials(read(tls["ca"]), read(tls.get("key")), read(tls.get("cert")))
        channel = grpc.secure_channel(spec["target"], creds, options)
    else:
        channel = grpc.insecure_channel(spec["target"], options)
    results = []
    with channel:
        for call in spec["calls"]:
            stub = channel.unary_unary(SERVICE + call["method"])
            body = bytes.fromhex(call["rawHex"]) if "rawHex" in call else encode_request(call["request"])
            try:
                raw = stub(body, timeout=call.get("timeout", 10))
                results.append({"code": 0, "details": "", "response": decode_response(raw)})
            except grpc.RpcError as error:
                results.append({"code": error.code().value[0], "details": error.details() or "", "response": None})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
