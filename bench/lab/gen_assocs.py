#!/usr/bin/env python3
"""Open many SCTP associations between netns a and b, from ONE process (lab bench).

  gen_assocs.py --ctl FIFO [--otm-share 0.1]

Reads target counts (one per line) from FIFO; for each, grows to that many
associations as seen from netns a and prints "ready N" (then waits for the
next line; on EOF it just keeps the sockets open until killed):

  one-to-one  (SOCK_STREAM): client in a bound to 10.1.0.1 + 10.2.0.1 (bindx),
              connects to a listener in b on 10.1.0.2 + 10.2.0.2 port 5000.
  one-to-many (SOCK_SEQPACKET): ONE socket in a on 10.1.0.1 + 10.2.0.1 port 9000
              holds many associations, each from a small one-to-many client in b.

Every association has two paths on each side. The process enters each netns
with setns(2) (ctypes) before creating a socket: a socket stays in the netns it
was created in. RLIMIT_NOFILE is raised (two fds per one-to-one association).
"""
import argparse, ctypes, errno, os, resource, select, socket, struct, sys, time

IPPROTO_SCTP = 132
SCTP_STATUS = 14
SCTP_GET_ASSOC_NUMBER = 28
SCTP_SOCKOPT_BINDX_ADD = 100
SCTP_ESTABLISHED = 4  # enum sctp_sstat_state
CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)


def enter(ns):
    fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, f"setns {ns}: {os.strerror(e)}")
    finally:
        os.close(fd)


def sockaddr_in(addr, port):
    return struct.pack("=HH4s8x", socket.AF_INET, socket.htons(port), socket.inet_aton(addr))


def multi(kind, addrs, port=0):
    s = socket.socket(socket.AF_INET, kind, IPPROTO_SCTP)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addrs[0], port))
    port = s.getsockname()[1]
    s.setsockopt(IPPROTO_SCTP, SCTP_SOCKOPT_BINDX_ADD, b"".join(sockaddr_in(a, port) for a in addrs[1:]))
    return s


def established(s):
    buf = s.getsockopt(IPPROTO_SCTP, SCTP_STATUS, 176)
    return struct.unpack_from("=ii", buf, 0)[1] == SCTP_ESTABLISHED


def log(*a):
    print(*a, flush=True)


class Gen:
    def __init__(self, share):
        self.share = share
        self.oto_clients, self.oto_accepted, self.otm_clients = [], [], []
        enter("b")
        self.listener = multi(socket.SOCK_STREAM, ["10.1.0.2", "10.2.0.2"], 5000)
        self.listener.listen(4096)
        self.listener.setblocking(False)
        enter("a")
        self.otm = multi(socket.SOCK_SEQPACKET, ["10.1.0.1", "10.2.0.1"], 9000)
        self.otm.listen(4096)

    def otm_count(self):
        return struct.unpack("=I", self.otm.getsockopt(IPPROTO_SCTP, SCTP_GET_ASSOC_NUMBER, 4))[0]

    def grow_oto(self, want, batch=200):
        while len(self.oto_clients) < want:
            k = min(batch, want - len(self.oto_clients))
            enter("a")
            fresh = []
            for _ in range(k):
                c = multi(socket.SOCK_STREAM, ["10.1.0.1", "10.2.0.1"])
                c.setblocking(False)
                rc = c.connect_ex(("10.1.0.2", 5000))
                if rc not in (0, errno.EINPROGRESS):
                    raise OSError(rc, f"connect: {os.strerror(rc)}")
                fresh.append(c)
            got, deadline = 0, time.time() + 120
            while got < k:
                if time.time() > deadline:
                    raise TimeoutError(f"accepted {got}/{k}")
                select.select([self.listener], [], [], 1.0)
                while got < k:
                    try:
                        a, _ = self.listener.accept()
                    except BlockingIOError:
                        break
                    self.oto_accepted.append(a)
                    got += 1
            pending, deadline = list(fresh), time.time() + 120
            while pending:
                pending = [c for c in pending if not established(c)]
                if pending:
                    if time.time() > deadline:
                        raise TimeoutError(f"{len(pending)} clients not ESTABLISHED")
                    time.sleep(0.05)
            self.oto_clients.extend(fresh)

    def grow_otm(self, want, batch=200):
        while len(self.otm_clients) < want:
            k = min(batch, want - len(self.otm_clients))
            enter("b")
            for _ in range(k):
                c = multi(socket.SOCK_SEQPACKET, ["10.1.0.2", "10.2.0.2"])
                c.setblocking(False)
                rc = c.connect_ex(("10.1.0.1", 9000))
                if rc not in (0, errno.EINPROGRESS):
                    raise OSError(rc, f"connect (one-to-many): {os.strerror(rc)}")
                self.otm_clients.append(c)
            deadline = time.time() + 120
            while self.otm_count() < len(self.otm_clients):
                if time.time() > deadline:
                    raise TimeoutError(f"one-to-many: {self.otm_count()}/{len(self.otm_clients)}")
                time.sleep(0.05)

    def grow(self, total):
        otm = int(total * self.share)
        t0 = time.time()
        self.grow_oto(total - otm)
        self.grow_otm(otm)
        log(f"ready {total} one-to-one={len(self.oto_clients)} one-to-many={self.otm_count()} "
            f"seconds={time.time() - t0:.1f}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ctl", required=True)
    p.add_argument("--otm-share", type=float, default=0.1)
    args = p.parse_args()
    want = 4 * 65536
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
    g = Gen(args.otm_share)
    log("started")
    with open(args.ctl) as ctl:
        for line in ctl:
            line = line.strip()
            if line.isdigit():
                g.grow(int(line))
    log("control closed; holding sockets")
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
