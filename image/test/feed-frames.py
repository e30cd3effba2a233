#!/usr/bin/env python3
"""Sends a capture's Ethernet frames to qemu's socket netdev, one UDP datagram
per frame, so that they arrive on the guest's mirror NIC.

  feed-frames.py CAPTURE HOST:PORT [--pps N] [--max-gap SECONDS] [--count-only]

Reads legacy pcap (either byte order, micro- or nanosecond) and pcapng (EPB
and SPB blocks) with link type Ethernet. Frames keep their capture order and
their relative timing, with each gap cut to --max-gap and a floor of 1/--pps
between frames, so that the guest's receive ring never overflows. Prints the
number of frames sent.
"""
import argparse
import socket
import struct
import sys
import time

LINKTYPE_ETHERNET = 1


class CaptureError(Exception):
    pass


def pcap_frames(data: bytes, path: str):
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        raise CaptureError(f"{path}: not a pcap file")
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    if len(data) < 24:
        raise CaptureError(f"{path}: truncated pcap header")
    linktype = struct.unpack(end + "I", data[20:24])[0] & 0x0FFFFFFF
    if linktype != LINKTYPE_ETHERNET:
        raise CaptureError(f"{path}: link type {linktype}, only Ethernet (1) can be sent to a NIC")
    off = 24
    while off + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack(end + "IIII", data[off:off + 16])
        off += 16
        if off + caplen > len(data):
            raise CaptureError(f"{path}: record at byte {off - 16} runs past the end of the file")
        yield sec + frac / (1e9 if nano else 1e6), data[off:off + caplen]
        off += caplen


def pcapng_frames(data: bytes, path: str):
    off = 0
    end = "<"
    linktypes = []
    tsres = []
    while off + 12 <= len(data):
        btype = struct.unpack(end + "I", data[off:off + 4])[0]
        if btype == 0x0A0D0D0A:
            bom = data[off + 8:off + 12]
            end = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
            linktypes, tsres = [], []
        blen = struct.unpack(end + "I", data[off + 4:off + 8])[0]
        if blen < 12 or off + blen > len(data):
            raise CaptureError(f"{path}: block at byte {off} has a bad length {blen}")
        body = data[off + 8:off + blen - 4]
        if btype == 1:  # interface description
            linktypes.append(struct.unpack(end + "H", body[0:2])[0])
            res = 1e-6
            opt = 8
            while opt + 4 <= len(body):
                code, olen = struct.unpack(end + "HH", body[opt:opt + 4])
                if code == 0:
                    break
                if code == 9 and olen >= 1:
                    v = body[opt + 4]
                    res = 2.0 ** -(v & 0x7F) if v & 0x80 else 10.0 ** -v
                opt += 4 + (olen + 3) // 4 * 4
            tsres.append(res)
        elif btype == 6:  # enhanced packet
            iface, hi, lo, caplen = struct.unpack(end + "IIII", body[0:16])
            if iface >= len(linktypes):
                raise CaptureError(f"{path}: packet at byte {off} names unknown interface {iface}")
            if linktypes[iface] != LINKTYPE_ETHERNET:
                raise CaptureError(f"{path}: interface {iface} has link type {linktypes[iface]}, not Ethernet")
            yield ((hi << 32) | lo) * tsres[iface], body[20:20 + caplen]
        elif btype == 3:  # simple packet
            if not linktypes or linktypes[0] != LINKTYPE_ETHERNET:
                raise CaptureError(f"{path}: simple packet without an Ethernet interface")
            yield None, body[4:]
        off += blen


def frames(path: str):
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] == b"\x0a\x0d\x0d\x0a":
        return list(pcapng_frames(data, path))
    return list(pcap_frames(data, path))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("capture")
    ap.add_argument("target", help="HOST:PORT of qemu's -netdev socket,localaddr=")
    ap.add_argument("--pps", type=float, default=200.0, help="frames per second at most (default 200)")
    ap.add_argument("--max-gap", type=float, default=0.5, help="longest pause between frames in seconds")
    ap.add_argument("--count-only", action="store_true", help="print the number of frames and send nothing")
    args = ap.parse_args()
    try:
        fr = frames(args.capture)
    except (OSError, CaptureError) as e:
        print(f"feed-frames: {e}", file=sys.stderr)
        return 1
    if args.count_only:
        print(len(fr))
        return 0
    host, _, port = args.target.rpartition(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    floor = 1.0 / args.pps
    prev = None
    for ts, frame in fr:
        gap = floor
        if ts is not None and prev is not None:
            gap = min(max(ts - prev, floor), args.max_gap)
        prev = ts if ts is not None else prev
        time.sleep(gap)
        sock.sendto(frame, (host, int(port)))
    print(len(fr))
    return 0


if __name__ == "__main__":
    sys.exit(main())
