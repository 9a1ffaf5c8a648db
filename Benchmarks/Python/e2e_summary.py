# SPDX-License-Identifier: Apache-2.0
"""The end-to-end summary of Scripts/bench, from the raw `e2e` lines of one results file.

Usage: e2e_summary.py RESULTS.tsv [--append-rows]

Raw lines (TSV, one per repetition, server and row, written by Scripts/bench):
    e2e  REP  SERVER  ROW  STATUS  key=value key=value ...   (the load generator's output)
STATUS is the load generator's exit status: non-zero when any connection was lost or any echo
differed from what was sent (bytes or opcode), or no message came back.

For every row and server it prints the median and min–max over the repetitions of the rate, the
server's user and system CPU per message, and the load generator's own CPU (a row whose generator
used >= 0.90 of its one core is marked client-bound: the generator, not the server, set the rate).
Ratios against a floor are the median of the paired per-repetition ratios (server ÷ floor, both
measured in the same repetition) with their min–max and a 95% bootstrap interval for that median
(median_ci). A target counts as met when the interval clears it; every verdict also says whether
the whole min–max range clears it. Floors: `c-fast` (Benchmarks/C/echo_server_fast.c, the one
targets use) and `c-floor` (the simple Benchmarks/C/echo_server.c).

With a server `ours-before` (Scripts/bench BENCH_BEFORE=REV) it also prints ours ÷ ours-before (and
the same for `ws-serve-before` and `ours-inplace-before`); with
the Swift floors (`swift-floor`, `swift-async-floor`: Sources/SwiftFloor) it prints them against
c-fast and our servers against them, and a CEILING line for each row where even the Swift async
floor's interval is above the async targets. With `c-floor` measured, a RESOLUTION line per row
says the most any server making the simple floor's system calls could reach against it (see
print_resolution) beside how far the floor's own rate moved between windows.

--append-rows appends `row` lines (medians) to RESULTS.tsv for table.py and same_layer.py.
Exit status 1 when any measured row had an error (the row is marked ERRORS in the table)."""
import random
import statistics
import sys

FAST, SIMPLE = "c-fast", "c-floor"
ROW_LABELS = {"small.1": "1 conn, 32 B text", "small.50": "50 conns, 32 B text",
              "big.1": "1 conn, 64 KiB binary", "big.50": "50 conns, 64 KiB binary"}
CLIENT_BOUND = 0.90  # load generator CPU (of its one core) at which it is the bottleneck
# Targets on user CPU per message ÷ the optimised floor (≤), and on the rate (≥), per server.
USER_CPU_TARGETS = {"ours": 1.5, "ours-inplace": 1.5, "ws-serve": 2.0, "ours-async": 2.0}
RATE_TARGETS = {"ours": 0.9, "ours-inplace": 0.9}
# (raw field, `row` metric key, unit) for the median rows table.py and same_layer.py read.
MEDIAN_ROWS = [("msgs_per_s", "rate", "msgs/s"), ("p50_us", "p50", "us"), ("p99_us", "p99", "us"),
               ("mb_per_s", "mbps", "MB/s"), ("cpu", "cpu", "cores"), ("server_cpu", "srvcpu", "cores"),
               ("server_us_per_msg", "srvus", "us"), ("server_user_us_per_msg", "srvuser", "us"),
               ("server_sys_us_per_msg", "srvsys", "us")]


def load(path):
    runs = {}  # (row, server) -> {rep: {field: value}, ...}
    order, seed = [], None
    for line in open(path):
        parts = line.rstrip("\n").split("\t")
        if parts[0] == "seed":
            seed = parts[1]
        if parts[0] != "e2e" or len(parts) < 5:
            continue
        rep, server, row, status = int(parts[1]), parts[2], parts[3], int(parts[4])
        fields = {"status": status}
        for kv in " ".join(parts[5:]).split():
            k, _, v = kv.partition("=")
            try:
                fields[k] = float(v)
            except ValueError:
                pass
        runs.setdefault((row, server), {})[rep] = fields
        if row not in order:
            order.append(row)
    return runs, order, seed


def quantile(ordered, q):
    """The q-quantile of a sorted list, interpolated between the two nearest values."""
    pos = q * (len(ordered) - 1)
    i = int(pos)
    if i + 1 >= len(ordered):
        return ordered[-1]
    return ordered[i] + (ordered[i + 1] - ordered[i]) * (pos - i)


def median_ci(values, level=0.95, resamples=10000):
    """A percentile bootstrap interval (lo, hi) for the median of `values`: draw len(values)
    values with replacement `resamples` times, take each draw's median, and read the
    (1 - level) / 2 and 1 - (1 - level) / 2 quantiles of those medians. The seed is fixed and
    the values are sorted first, so the same values always give the same interval. With fewer
    than 3 values there is nothing to resample: their min and max."""
    values = sorted(values)
    if len(values) < 3:
        return values[0], values[-1]
    rng = random.Random(12345)
    medians = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(resamples))
    tail = (1 - level) / 2
    return quantile(medians, tail), quantile(medians, 1 - tail)


def spread(values, ci=False):
    """(median, min, max) of the values that are not None, or None; with ci, also the bootstrap
    interval of the median: (median, min, max, ci_lo, ci_hi)."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    s = statistics.median(values), min(values), max(values)
    return s + median_ci(values) if ci else s


def paired(runs, row, server, ref, field):
    """Per-repetition ratios server ÷ ref of `field` where both have it (median, min, max, ci_lo, ci_hi)."""
    a, b = runs.get((row, server), {}), runs.get((row, ref), {})
    ratios = [a[r][field] / b[r][field] for r in a if r in b
              and a[r].get(field) is not None and b[r].get(field) and a[r]["status"] == 0 and b[r]["status"] == 0]
    return spread(ratios, ci=True)


def fmt_num(v):
    if v >= 1e6:
        return f"{v / 1e6:.2f} M"
    if v >= 1e4:
        return f"{v / 1e3:.1f} k"
    return f"{v:.0f}" if v >= 100 else f"{v:.2f}"


def cell(s, f=fmt_num, suffix=""):
    if s is None:
        return "—"
    med, lo, hi = s[:3]
    text = f"{f(med)}{suffix} [{f(lo)}–{f(hi)}]"
    return text + f" (CI {f(s[3])}–{f(s[4])})" if len(s) == 5 else text


def ratio_cell(s):
    return cell(s, lambda v: f"{v:.2f}", "×")


def bound(v, target):
    """A ratio to two decimals, or up to four when fewer would round it onto the target."""
    for digits in (2, 3, 4):
        text = f"{v:.{digits}f}"
        if v == target or float(text) != target:
            break
    return text


def judge(s, target, at_most=False, strict=False, bad=False):
    """(met, text) for a paired ratio `s` (from paired()) against `target`: ≤ target when at_most,
    else ≥ (> when strict). The bootstrap interval of the median decides; the text also says
    whether the whole min–max range clears the target, e.g. `met (95% CI 1.01–1.12 clears 1;
    whole range 0.92–1.16 does not)`. A row with errors in any repetition is never met."""
    if s is None:
        return False, "NOT met (no paired result)"
    _, lo, hi, ci_lo, ci_hi = s

    def clears(a, b):
        return b <= target if at_most else (a > target if strict else a >= target)
    ci_ok, range_ok = clears(ci_lo, ci_hi), clears(lo, hi)
    met = ci_ok and not bad
    why = (f"95% CI {bound(ci_lo, target)}–{bound(ci_hi, target)} {'clears' if ci_ok else 'does not clear'} "
           f"{target:g}; whole range {bound(lo, target)}–{bound(hi, target)} {'does' if range_ok else 'does not'}")
    return met, f"{'met' if met else 'NOT met'} ({'errors in a repetition; ' if bad else ''}{why})"


def print_before_after(runs, rows, server, before):
    print()
    print(f"Before and after ({server} ÷ {before}, paired per repetition; < 1 for CPU = cheaper now):")
    print()
    print("| row | rate | user µs/msg | sys µs/msg | server µs/msg |")
    print("|---|---|---|---|---|")
    for row in rows:
        rate_field = "mb_per_s" if row.startswith("big") else "msgs_per_s"
        print(f"| {row} | " + " | ".join(ratio_cell(paired(runs, row, server, before, f)) for f in
              (rate_field, "server_user_us_per_msg", "server_sys_us_per_msg", "server_us_per_msg")) + " |")


def print_resolution(runs, rows, servers):
    """What a row can resolve: the most any server making the simple floor's system calls could
    reach against it (its own code taking no time at all), beside how far the floor's own rate
    moved between windows. On a saturated row (the floor's server at >= 0.90 of its core) that
    is the floor's CPU per echo over its system CPU per echo; on a row the round trip sets, the
    round trip over the round trip without the floor's own code."""
    print()
    for row in rows:
        reps = [f for f in runs.get((row, SIMPLE), {}).values() if f["status"] == 0]
        user = spread([f.get("server_user_us_per_msg") for f in reps])
        system = spread([f.get("server_sys_us_per_msg") for f in reps])
        busy = spread([f.get("server_cpu") for f in reps])
        rate_field = "mb_per_s" if row.startswith("big") else "msgs_per_s"
        rate = spread([f.get(rate_field) for f in reps])
        if None in (user, system, busy, rate) or rate[1] <= 0:
            continue
        if busy[0] >= CLIENT_BOUND:
            ceiling = (user[0] + system[0]) / system[0]
            basis = f"{user[0]:.2f} µs of its {user[0] + system[0]:.2f} µs of CPU per echo are its own code"
        else:
            trip = spread([f.get("p50_us") for f in reps])
            if trip is None or trip[0] <= user[0]:
                continue
            ceiling = trip[0] / (trip[0] - user[0])
            basis = f"{user[0]:.2f} µs of its {trip[0]:.1f} µs round trip are its own code"
        fast = ratio_cell(paired(runs, row, FAST, SIMPLE, rate_field)) if FAST in servers else "not measured"
        print(f"RESOLUTION e2e.{row}: {basis}: a server making the same system calls with no code of its own "
              f"could reach at most {ceiling:.3f}× {SIMPLE}; {SIMPLE}'s own rate ranged {rate[1]:g}–{rate[2]:g} "
              f"({rate[2] / rate[1]:.2f}× between windows); {FAST} ÷ {SIMPLE}: {fast}")


def main():
    path = sys.argv[1]
    runs, rows, seed = load(path)
    servers = []
    for (_, server) in runs:
        if server not in servers:
            servers.append(server)
    failed, missed, medians = [], [], []
    print(f"End to end: median [min–max] over repetitions in a randomised server order (seed {seed}).")
    print("CPU per message: the server's user and system time (/proc/PID/stat, all threads) per echoed message.")
    print("Ratios: median [min–max] (95% bootstrap CI of the median) of the paired per-repetition ratios, "
          f"server ÷ floor; {FAST} = optimised C floor (targets), {SIMPLE} = simple C floor. A target is met when "
          "the CI clears it; each verdict also says whether the whole min–max range does.")
    for row in rows:
        big = row.startswith("big")
        rate_field = "mb_per_s" if big else "msgs_per_s"
        print()
        print(f"### e2e {row}: {ROW_LABELS.get(row, row)}")
        print()
        header = ["server", "MB/s" if big else "msgs/s", "user µs/msg", "sys µs/msg", "generator CPU",
                  f"rate ÷ {FAST}", f"user CPU ÷ {FAST}", f"rate ÷ {SIMPLE}", f"user CPU ÷ {SIMPLE}", "notes"]
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for server in servers:
            reps = runs.get((row, server))
            if not reps:
                continue
            ok = [f for f in reps.values() if f["status"] == 0]
            bad = len(reps) - len(ok)
            gen = spread([f.get("cpu") for f in ok])
            user = spread([f.get("server_user_us_per_msg") for f in ok])
            notes = []
            if bad:
                errs = sum(int(f.get("errors", 0)) for f in reps.values())
                mism = sum(int(f.get("mismatches", 0)) for f in reps.values())
                notes.append(f"ERRORS in {bad}/{len(reps)} repetitions ({errs} errors, {mism} wrong echoes)")
                failed.append(f"{row} {server}")
            bound = sum(1 for f in ok if f.get("cpu", 0) >= CLIENT_BOUND)
            if bound:
                notes.append(f"client-bound in {bound}/{len(ok)}")
            r_rate = paired(runs, row, server, FAST, rate_field) if server != FAST else None
            r_user = paired(runs, row, server, FAST, "server_user_us_per_msg") if server != FAST else None
            if server in USER_CPU_TARGETS:
                t = USER_CPU_TARGETS[server]
                met, why = judge(r_user, t, at_most=True, bad=bad)
                notes.append(f"user CPU ≤ {t:g}× {FAST}: {why}")
                if not met:
                    missed.append(f"MISSED e2e.{row} {server}: user CPU per message ≤ {t:g}× {FAST}: {why} "
                                  f"(paired ratio {ratio_cell(r_user)})")
            if server in RATE_TARGETS:
                t = RATE_TARGETS[server]
                met, why = judge(r_rate, t, bad=bad)
                notes.append(f"rate ≥ {t:g}× {FAST}: {why}")
                if not met:
                    missed.append(f"MISSED e2e.{row} {server}: rate ≥ {t:g}× {FAST}: {why} "
                                  f"(paired ratio {ratio_cell(r_rate)})")
            cells = [server, cell(spread([f.get(rate_field) for f in ok])),
                     cell(user, lambda v: f"{v:.2f}"),
                     cell(spread([f.get("server_sys_us_per_msg") for f in ok]), lambda v: f"{v:.2f}"),
                     cell(gen, lambda v: f"{v:.2f}"),
                     ratio_cell(r_rate), ratio_cell(r_user),
                     ratio_cell(paired(runs, row, server, SIMPLE, rate_field) if server != SIMPLE else None),
                     ratio_cell(paired(runs, row, server, SIMPLE, "server_user_us_per_msg") if server != SIMPLE else None),
                     "; ".join(notes) or "—"]
            print("| " + " | ".join(cells) + " |")
            for field, key, unit in MEDIAN_ROWS:
                s = spread([f.get(field) for f in ok])
                if s is not None:
                    medians.append(f"row\te2e.{row}.{key}\t{server}\t{s[0]:g}\t{unit}\t{s[1]:g}\t{s[2]:g}")
    # BENCH_BEFORE: the loop-thread server and `ws serve` before and after a change, paired per repetition.
    for server, before in (("ws-serve", "ws-serve-before"), ("ours", "ours-before"), ("ours-inplace", "ours-inplace-before")):
        if before in servers:
            print_before_after(runs, rows, server, before)
    if "swift-floor" in servers or "swift-async-floor" in servers:
        # The Swift floors (Sources/SwiftFloor): c-fast's work in Swift, inline and with one task
        # per connection. What the language and its task model cost per message, apart from
        # what our library adds; a target below a Swift floor is out of reach for Swift code.
        print()
        print("Swift floors (SwiftFloor: c-fast's work in Swift; `swift-floor` answers on the loop thread, "
              "`swift-async-floor` with one task per connection on the loop's task executor), paired per repetition:")
        print()
        print(f"| row | swift-floor user ÷ {FAST} | swift-async-floor user ÷ {FAST} | ours user ÷ swift-floor | "
              f"ws-serve user ÷ swift-async-floor | ours-async user ÷ swift-async-floor | swift-floor rate ÷ {SIMPLE} | "
              f"swift-async-floor rate ÷ {SIMPLE} |")
        print("|---|---|---|---|---|---|---|---|")
        user = "server_user_us_per_msg"
        for row in rows:
            rate_field = "mb_per_s" if row.startswith("big") else "msgs_per_s"
            cells = [paired(runs, row, "swift-floor", FAST, user), paired(runs, row, "swift-async-floor", FAST, user),
                     paired(runs, row, "ours", "swift-floor", user), paired(runs, row, "ws-serve", "swift-async-floor", user),
                     paired(runs, row, "ours-async", "swift-async-floor", user),
                     paired(runs, row, "swift-floor", SIMPLE, rate_field), paired(runs, row, "swift-async-floor", SIMPLE, rate_field)]
            print(f"| {row} | " + " | ".join(ratio_cell(c) for c in cells) + " |")
        for row in rows:
            # Judged like a target: the floor's interval above the async target (strictly).
            floor = paired(runs, row, "swift-async-floor", FAST, user)
            above, why = judge(floor, USER_CPU_TARGETS["ws-serve"], strict=True)
            if above:
                print(f"CEILING e2e.{row}: the async targets (user CPU ≤ {USER_CPU_TARGETS['ws-serve']:g}× {FAST}) are below "
                      f"the Swift async floor itself ({ratio_cell(floor)}; {why.removeprefix('met (')}")
    if SIMPLE in servers:
        print_resolution(runs, rows, servers)
    if missed:
        print()
        print("\n".join(missed))
    if failed:
        print()
        print("FAILED (a measured row had errors: lost connections or echoes that differ): " + ", ".join(failed))
    if "--append-rows" in sys.argv[2:]:
        with open(path, "a") as f:
            f.write("".join(m + "\n" for m in medians))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
