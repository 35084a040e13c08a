"""The raw QEMU floor of a cell, shared by the benches: the argv the harness used for a cell with
its guest swapped for a trivial one, and a bare boot of it that ends the way the harness ends a
boot (QEMU exits, or -- under Xen, which halts rather than exits -- the `done` line arrives)."""
import os
import select
import signal
import subprocess
import time

DONE = b'"ev":"done"'


def bare_argv(cell_argv, trivial_kernel, trivial_pvh=None):
    """The cell's QEMU argv with its guest replaced: -kernel for the rom family; for the xen
    family (Xen is -kernel, the guest is the -initrd module) the module, by `trivial_pvh`."""
    argv = list(cell_argv)
    if "-initrd" in argv:
        if trivial_pvh is None:
            raise ValueError("a xen cell needs the trivial PVH guest (fixture-xen-pass.elf)")
        argv[argv.index("-initrd") + 1] = str(trivial_pvh)
        return argv
    argv[argv.index("-kernel") + 1] = str(trivial_kernel)
    if "-append" in argv:  # the trivial kernel reads no command line
        i = argv.index("-append")
        del argv[i:i + 2]
    return argv


def bare_boot(argv, timeout=120.0):
    """Seconds from exec to QEMU's exit or the guest's `done` line (then QEMU is killed)."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    seen = b""
    try:
        while time.monotonic() - start < timeout:
            ready, _, _ = select.select([proc.stdout], [], [], 0.5)
            if not ready:
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            seen = seen[-64:] + chunk
            if DONE in seen:
                break
        return time.monotonic() - start
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
