"""Running one `videodesc` command in a child process and measuring it, for the benchmarks."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path


def timed(args: list[str]) -> tuple[float, float, list[dict]]:
    """Seconds, peak resident MiB and the JSON progress events of one videodesc command."""
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "videodesc", *args, "--json"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    status, peak_kib = Path(f"/proc/{child.pid}/status"), 0
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(child.stderr), daemon=True)
    reader.start()
    while child.poll() is None:
        try:
            hwm = next(l for l in status.read_text().splitlines() if l.startswith("VmHWM:"))
            peak_kib = max(peak_kib, int(hwm.split()[1]))
        except (OSError, StopIteration):
            pass
        time.sleep(0.05)
    reader.join()
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"videodesc {' '.join(args)} failed:\n{''.join(lines)[-2000:]}")
    return seconds, peak_kib / 1024, [json.loads(l) for l in lines if l.startswith("{")]
