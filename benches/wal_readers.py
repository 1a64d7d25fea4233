#!/usr/bin/env python3
"""benches/wal_readers.py: what a read-only -shm costs an operator's console (run as root).

The collector's store is read by the operators' group through a -shm it may not write (DESIGN.md,
Privilege and trust; src/control/share.rs). This measures a reader in another user's shoes against
the same WAL database with the -shm 0640 (read-only for the group) and 0660 (group-writable):
a writer holding a WAL of about 16 MB (1000 frames of 16 KiB pages, no checkpoint) commits every
5 ms, and the reader times 100 read transactions, each after a commit.

  benches/wal_readers.py           prints the median and p90 per read transaction for both modes

It makes a throw-away user (rampart-walbench) and removes it afterwards.
"""
import os, subprocess, sys, tempfile, time

USER = "rampart-walbench"

WRITER = r'''
import sqlite3, sys, os, time
db, frames, shm = sys.argv[1], int(sys.argv[2]), int(sys.argv[3], 8)
c = sqlite3.connect(db, isolation_level=None)
c.execute("PRAGMA page_size=16384"); c.execute("PRAGMA journal_mode=WAL"); c.execute("PRAGMA wal_autocheckpoint=0")
c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
c.execute("BEGIN")
for i in range(frames * 4):
    c.execute("INSERT INTO t(v) VALUES (?)", ("x" * 4000,))
c.execute("COMMIT")
for suffix, mode in (("", 0o640), ("-wal", 0o640), ("-shm", shm)):
    os.chmod(db + suffix, mode); os.chown(db + suffix, 0, int(sys.argv[4]))
print("wal bytes", os.path.getsize(db + "-wal"), flush=True)
while True:
    c.execute("INSERT INTO t(v) VALUES ('y')"); time.sleep(0.005)
'''

READER = r'''
import sqlite3, sys, time
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, isolation_level=None)
c.execute("SELECT max(id) FROM t").fetchone()
times = []
for i in range(100):
    time.sleep(0.02)
    t = time.perf_counter(); c.execute("SELECT max(id) FROM t").fetchone(); times.append(time.perf_counter() - t)
times.sort()
print("median %.3f ms, p90 %.3f ms per read transaction" % (times[50] * 1000, times[90] * 1000))
'''


def main():
    python = "/usr/bin/python3"
    subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group", USER], check=True)
    try:
        gid = int(subprocess.run(["getent", "group", USER], capture_output=True, text=True).stdout.split(":")[2])
        with tempfile.TemporaryDirectory() as d:
            os.chmod(d, 0o755)
            for shm in ("640", "660"):
                db = os.path.join(d, "s%s.db" % shm)
                writer = subprocess.Popen([python, "-c", WRITER, db, "1000", shm, str(gid)], stdout=subprocess.PIPE, text=True)
                said = writer.stdout.readline().strip()
                out = subprocess.run(["setpriv", "--reuid", USER, "--regid", USER, "--init-groups", python, "-c", READER, db],
                                     capture_output=True, text=True, check=True).stdout.strip()
                print("-shm 0%s (%s): %s" % (shm, said, out))
                writer.kill(); writer.wait()
    finally:
        subprocess.run(["userdel", USER])


if __name__ == "__main__":
    sys.exit(main())
