#!/usr/bin/env python3
"""Each part's time in a run of bench/first-run.sh, as a Markdown table (README, "Set-up times").

    python3 bench/first-run-parts.py [WORK]     (default /tmp/convlab-first-run-test)

Reads WORK/trace.log (every command, stamped with the seconds since the start), WORK/output.log
(setup.sh's "NAME: done in" lines) and WORK/time.txt (the total). Works on a run still going:
the parts not yet ended are left out.
"""

import re
import shlex
import sys
from pathlib import Path

work = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/convlab-first-run-test")
trace = (work / "trace.log").read_text(errors="replace").splitlines()
output = (work / "output.log").read_text(errors="replace")
stamp = re.compile(r"^\[(\d+)s\] \+* (.*)$")


def minutes(seconds):
    return f"{seconds // 60} min {seconds % 60:02d} s"


def commands():
    for line in trace:
        match = stamp.match(line)
        if match:
            yield int(match[1]), match[2]


rows = []
# apt: from its update to the first command after the install.
apt_start = apt_end = None
after_install = False
for seconds, command in commands():
    command = command.removeprefix("sudo ")
    if command.startswith("apt-get update") and apt_start is None:
        apt_start = seconds
    elif command.startswith("apt-get install"):
        after_install = True
    elif after_install:
        apt_end, after_install = seconds, False
if apt_start is not None and apt_end is not None:
    packages = re.search(r"setup: apt-get install (.*)", output)
    rows.append((f"apt ({packages[1] if packages else 'packages'})", apt_end - apt_start))

# setup.sh's side-by-side steps, as its first run reports them (publish.sh runs it again).
first_setup = output.split("setup: ready", 1)[0]
for name, mins, secs in re.findall(r"setup: (\S+): done in (\d+) min (\d+) s", first_setup):
    rows.append((f"set-up step `{name}` (side by side)", int(mins) * 60 + int(secs)))

ready = next((s for s, c in commands() if c.startswith("echo 'setup: ready")), None)
if ready is not None:
    rows.append(("**set-up (setup.sh) in all**", ready))

# test.sh's steps: each lasts until the next one starts (the last until the end).
steps = [(s, " ".join(shlex.split(c)[1:])) for s, c in commands() if c.startswith("step ")]
time_file = work / "time.txt"
# GNU time's line; after a failed command it is preceded by "Command exited with ...".
timed = re.search(r"([\d.]+) s wall.*", time_file.read_text()) if time_file.exists() else None
total = int(float(timed[1])) if timed else None
for (start, name), following in zip(steps, steps[1:] + [(total, None)]):
    if following[0] is not None:
        rows.append((name, following[0] - start))
if total is not None:
    rows.append(("**the whole command**", total))

print("| part | time |")
print("|---|---|")
for name, seconds in rows:
    print(f"| {name} | {minutes(seconds)} |")
if timed:
    print(f"\n{timed[0]}")
