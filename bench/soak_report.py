"""Writes the soak's results (bench/soak.py): a Markdown report, the samples as CSV, and a PNG of
RSS, fds and threads over time when gnuplot is installed."""

import os
import platform
import shutil
import subprocess
import time


def machine():
    cpus = os.cpu_count()
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    except OSError:
        pass
    with open("/proc/meminfo") as f:
        mem_gb = int(f.readline().split()[1]) / 1024 / 1024
    return "%d CPUs (%s), %.0f GB RAM, %s %s, Python %s" % (cpus, model, mem_gb, platform.system(),
                                                               platform.release(), platform.python_version())


def write_csv(path, samples):
    with open(path, "w") as f:
        f.write("phase,seconds,rss_kb,fds,threads,requests\n")
        for row in samples:
            f.write(",".join(str(v) for v in row) + "\n")


def plot(csv, png):
    """A PNG of RSS (MB, left axis) and fds and threads (right axis) over the timed load."""
    if shutil.which("gnuplot") is None:
        return None
    script = """
set datafile separator ','
set terminal png size 1000,500
set output '%s'
set key top left
set xlabel 'seconds into the timed load'
set ylabel 'RSS (MB)'
set y2label 'fds / threads'
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
plot '%s' every ::1 using 2:($3/1024) with linespoints title 'RSS MB', \\
     '' every ::1 using 2:4 axes x1y2 with linespoints title 'open fds', \\
     '' every ::1 using 2:5 axes x1y2 with lines title 'threads'
""" % (png, csv)
    result = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True, timeout=60)
    return png if result.returncode == 0 else None


def write(args, started, soak, baseline, after, shutdown, failures, figures, kinds):
    """Writes soak-<UTC date and time>.{md,csv,png} into args.results; returns the report's path."""
    os.makedirs(args.results, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d-%H%M", time.gmtime(started))
    base = os.path.join(args.results, "soak-" + stamp)
    write_csv(base + ".csv", soak.samples)
    png = plot(base + ".csv", base + ".png")
    middle, end = figures["middle"], figures["end"]
    total = sum(soak.counts.values())
    lines = [
        "# Soak %s UTC" % time.strftime("%Y-%m-%d %H:%M", time.gmtime(started)),
        "",
        "Result: **%s**" % ("passed" if not failures else "FAILED"),
        "",
    ]
    lines += ["- FAILED: %s" % f for f in failures]
    lines += [
        "- Machine: %s; load average at the end %s." % (machine(), " ".join(
            "%.2f" % v for v in os.getloadavg())),
        "- Load: %d s timed after %d s of warm-up, %d connections, up to %d ms pause between requests, "
        "answers bounded by %d s; gateway log level `%s`." % (args.duration, args.warmup, args.connections,
                                                              args.pause_ms, args.timeout, args.log_level),
        "- Requests: %d in all, %.1f/s over the timed load; wrong or missing answers: %d." % (
            total, (end[5] - baseline[5]) / max(1.0, end[1]), sum(soak.errors.values())),
        "- Configuration reloads under load (SIGHUP every %g s): %d sent, %d counted as successful, "
        "%d as failed." % (args.reload_every, soak.reloads_sent, soak.reloads["success"],
                           soak.reloads["failure"]),
        "",
        "| kind | requests |",
        "|---|---:|",
    ]
    lines += ["| %s | %d |" % (kind, soak.counts.get(kind, 0)) for kind in kinds]
    lines += ["", "| error | count |", "|---|---:|"] if soak.errors else []
    lines += ["| %s | %d |" % (e, n) for e, n in sorted(soak.errors.items())]
    lines += [
        "",
        "| point | seconds | RSS MB | open fds | threads |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, row in (("baseline (idle, after warm-up)", baseline), ("middle", middle), ("end (under load)", end),
                      ("after the load (idle)", after)):
        lines.append("| %s | %s | %.1f | %d | %d |" % (name, row[1], row[2] / 1024, row[3], row[4]))
    lines += [
        "",
        "RSS middle to end: %+.1f %% (limit %.0f %%). Threads seen: %s. SIGTERM: exit %s in %.2f s." % (
            100 * figures["growth"], 100 * args.rss_growth, figures["threads"], shutdown[0], shutdown[1]),
        "",
        "Samples: [`%s`](%s)%s." % (os.path.basename(base + ".csv"), os.path.basename(base + ".csv"),
                                     ", plot: [`%s`](%s)" % (os.path.basename(png), os.path.basename(png))
                                     if png else ""),
    ]
    with open(base + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    return base + ".md"
