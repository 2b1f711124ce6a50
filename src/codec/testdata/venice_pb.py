"""Reference encoder/decoder for the codec tests, using Google's protobuf runtime.

Builds VeniceClientRequest / VeniceServerResponse descriptors (same field numbers and
types as proto/VeniceReadService.proto) and converts between JSON on stdin and hex bytes
on stdout. Usage: venice_pb.py encode|decode Request|Response
"""
import base64
import json
import sys

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

F = descriptor_pb2.FieldDescriptorProto
fdp = descriptor_pb2.FileDescriptorProto(
    name="venice_read_test.proto", package="com.linkedin.venice.protocols", syntax="proto3")
req = fdp.message_type.add(name="VeniceClientRequest")
for name, num, typ in [("partition", 1, F.TYPE_UINT32), ("keyString", 2, F.TYPE_STRING),
                       ("keyBytes", 3, F.TYPE_BYTES), ("resourceName", 5, F.TYPE_STRING),
                       ("isStreamingRequest", 7, F.TYPE_BOOL), ("isRetryRequest", 8, F.TYPE_BOOL),
                       ("isBatchRequest", 9, F.TYPE_BOOL), ("method", 10, F.TYPE_STRING)]:
    req.field.add(name=name, number=num, type=typ, label=F.LABEL_OPTIONAL)
res = fdp.message_type.add(name="VeniceServerResponse")
for name, num, typ in [("schemaId", 1, F.TYPE_SINT32), ("data", 2, F.TYPE_BYTES),
                       ("compressionStrategy", 3, F.TYPE_UINT32), ("responseRCU", 4, F.TYPE_UINT32),
                       ("isStreamingResponse", 5, F.TYPE_BOOL), ("errorCode", 6, F.TYPE_UINT32),
                       ("errorMessage", 7, F.TYPE_STRING)]:
    res.field.add(name=name, number=num, type=typ, label=F.LABEL_OPTIONAL)
pool = descriptor_pool.DescriptorPool()
pool.Add(fdp)


def cls(name):
    d = pool.FindMessageTypeByName("com.linkedin.venice.protocols." + name)
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(d)
    return message_factory.MessageFactory(pool).GetPrototype(d)


BYTES = {"keyBytes", "data"}
mode, kind = sys.argv[1], sys.argv[2]
C = cls("VeniceClientRequest" if kind == "Request" else "VeniceServerResponse")
if mode == "encode":
    obj = json.load(sys.stdin)
    m = C()
    for k, v in obj.items():
        setattr(m, k, base64.b64decode(v) if k in BYTES else v)
    sys.stdout.write(m.SerializeToString().hex())
else:
    m = C()
    m.ParseFromString(bytes.fromhex(sys.stdin.read().strip()))
    out = {}
    for f in C.DESCRIPTOR.fields:
        v = getattr(m, f.name)
        out[f.name] = base64.b64encode(v).decode() if f.name in BYTES else v
    sys.stdout.write(json.dumps(out))
