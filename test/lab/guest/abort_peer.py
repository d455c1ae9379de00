#!/usr/bin/env python3
"""One association that ends in an ABORT, for the lab (IPv4, one-to-one).

  abort_peer.py server --bind ADDR --port P [--abort]   accept one, read a line;
                                                         --abort: close with SO_LINGER 0
  abort_peer.py client --connect ADDR --port P [--abort] connect, send a line;
                                                         --abort: close with SO_LINGER 0
The side without --abort waits until the peer's ABORT ends the association and
prints "aborted: <errno name>" (ECONNRESET) or "closed".
"""
import argparse, errno, socket, struct, sys

IPPROTO_SCTP = 132


def linger0_close(s):
    # SO_LINGER on, 0 s: close() sends ABORT (User-Initiated Abort) instead of SHUTDOWN
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    print("sent abort", flush=True)


def wait_end(s):
    try:
        while s.recv(65536):
            pass
        print("closed", flush=True)
    except OSError as e:
        print(f"aborted: {errno.errorcode.get(e.errno, e.errno)}", flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["server", "client"])
    p.add_argument("--bind", default="")
    p.add_argument("--connect", default="")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--abort", action="store_true")
    a = p.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_SCTP)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if a.mode == "server":
        s.bind((a.bind, a.port))
        s.listen(8)
        print(f"listening on {a.bind} port {a.port}", flush=True)
        c, peer = s.accept()
        print(f"accepted {peer}", flush=True)
        c.recv(65536)
        if a.abort:
            linger0_close(c)
        else:
            wait_end(c)
    else:
        s.connect((a.connect, a.port))
        s.send(b"hello\n")
        if a.abort:
            linger0_close(s)
        else:
            wait_end(s)


if __name__ == "__main__":
    sys.exit(main())
