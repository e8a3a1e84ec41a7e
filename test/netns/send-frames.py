#!/usr/bin/env python3
"""Send the frames of a pcap out of an interface (AF_PACKET), for the history
tests: run in the client namespace, `python3 send-frames.py IFACE PCAP [PPS]`.
PPS caps the rate (0: as fast as it goes). Prints the number of frames sent.
Stdlib only."""
import socket
import struct
import sys
import time

iface, pcap = sys.argv[1], sys.argv[2]
pps = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
with open(pcap, 'rb') as f:
    data = f.read()
if struct.unpack('<I', data[:4])[0] != 0xA1B2C3D4:
    sys.exit('not a little-endian microsecond pcap')
frames, off = [], 24
while off + 16 <= len(data):
    incl = struct.unpack('<IIII', data[off:off + 16])[2]
    frames.append(data[off + 16:off + 16 + incl])
    off += 16 + incl
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
t0 = time.monotonic()
for i, fr in enumerate(frames):
    if pps > 0:
        ahead = t0 + i / pps - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
    s.send(fr)
print(len(frames))
