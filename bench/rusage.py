#!/usr/bin/env python3
"""rusage.py OUTFILE CMD...: run CMD, then write 'user_s sys_s maxrss_kib' of it to OUTFILE.

What /usr/bin/time -f '%U %S %M' reports (wait4's rusage of the child and its descendants), but
with microsecond resolution instead of centiseconds: at 20k req/s for 10 s a client spends a few
hundredths of a second of user time, which /usr/bin/time would round by up to 25%.
Exits with CMD's status (128 + signal if it was killed). Its own CPU is not in the figures.
"""
import os
import signal
import sys

if len(sys.argv) < 3:
    sys.exit("usage: rusage.py OUTFILE CMD...")
out, argv = sys.argv[1], sys.argv[2:]
pid = os.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    except OSError as e:
        print(f"rusage.py: {argv[0]}: {e.strerror}", file=sys.stderr)
        os._exit(127)
# Pass termination requests on to the child, then report what it used.
for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(sig, lambda s, _f: os.kill(pid, s))
while True:
    try:
        _, status, ru = os.wait4(pid, 0)
        break
    except InterruptedError:
        continue
with open(out, "w") as f:
    f.write(f"{ru.ru_utime:.6f} {ru.ru_stime:.6f} {ru.ru_maxrss}\n")
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
