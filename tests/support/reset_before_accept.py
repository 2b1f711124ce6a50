"""Connects to 127.0.0.1:PORT COUNT times, each time resetting at once (SO_LINGER 0),
so that the server's accept finds a connection the client already tore down."""
import socket
import struct
import sys

port, count = int(sys.argv[1]), int(sys.argv[2])
for _ in range(count):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.connect(("127.0.0.1", port))
    s.close()
