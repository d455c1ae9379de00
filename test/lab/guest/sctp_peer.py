#!/usr/bin/env python3
"""One-to-one (SOCK_STREAM) SCTP peer for the lab; IPv4 and IPv6.

  sctp_peer.py server --port P [--bind ADDR ...]          accept, read and discard
  sctp_peer.py client --connect ADDR --port P [--bind ADDR ...] [--lport P]
                      [--count N] [--interval S]           N associations, each sends
                                                           a line every S seconds
Several --bind addresses make the socket multi-homed (first via bind(), the
rest via SCTP_SOCKOPT_BINDX_ADD). No --bind on a server = wildcard.
"""
import argparse, socket, struct, sys, threading, time

IPPROTO_SCTP = 132
SCTP_SOCKOPT_BINDX_ADD = 100


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def packed(addr, port):
    """struct sockaddr_in / sockaddr_in6 in kernel layout."""
    if family(addr) == socket.AF_INET6:
        return struct.pack("=HHI16sI", socket.AF_INET6, socket.htons(port), 0,
                           socket.inet_pton(socket.AF_INET6, addr), 0)
    return struct.pack("=HH4s8x", socket.AF_INET, socket.htons(port),
                       socket.inet_pton(socket.AF_INET, addr))


def make_socket(fam, binds, port):
    s = socket.socket(fam, socket.SOCK_STREAM, IPPROTO_SCTP)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if binds:
        s.bind((binds[0], port))
        port = s.getsockname()[1]
        extra = b"".join(packed(a, port) for a in binds[1:])
        if extra:
            s.setsockopt(IPPROTO_SCTP, SCTP_SOCKOPT_BINDX_ADD, extra)
    elif port:
        s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", port))
    return s


def serve(args):
    fam = socket.AF_INET6 if any(":" in a for a in args.bind) or not args.bind else socket.AF_INET
    s = make_socket(fam, args.bind, args.port)
    s.listen(1024)
    print(f"listening on {args.bind or 'wildcard'} port {args.port}", flush=True)

    def drain(c, peer):
        try:
            while c.recv(65536):
                pass
        except OSError as e:
            print(f"{peer}: {e}", flush=True)
        c.close()

    while True:
        c, peer = s.accept()
        print(f"accepted {peer}", flush=True)
        threading.Thread(target=drain, args=(c, peer), daemon=True).start()


def client(args):
    socks = []
    for i in range(args.count):
        lport = args.lport + i if args.lport else 0
        s = make_socket(family(args.connect), args.bind, lport)
        s.connect((args.connect, args.port))
        socks.append(s)
    print(f"connected {len(socks)} association(s) to {args.connect}:{args.port}", flush=True)
    n = 0
    while True:
        n += 1
        for s in list(socks):
            try:
                s.send(f"msg {n}\n".encode())
            except OSError as e:
                print(f"send: {e}", flush=True)
                socks.remove(s)
        if not socks:
            return 1
        time.sleep(args.interval)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["server", "client"])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--bind", action="append", default=[])
    p.add_argument("--connect")
    p.add_argument("--lport", type=int, default=0)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--interval", type=float, default=0.2)
    args = p.parse_args()
    if args.mode == "server":
        return serve(args)
    if not args.connect:
        p.error("client needs --connect")
    return client(args)


if __name__ == "__main__":
    sys.exit(main())
