"""Emulated Raspberry-Pi-like test devices: arm64 userland under qemu, one network namespace each.

Why this exists: a loopback x86 sshd proves the SSH path but not the device. These devices
run Debian bookworm arm64 binaries (via qemu-user + binfmt_misc), the Pi's Python 3.11 with
``tflite-runtime`` 2.14 + numpy 1.x in ``/home/pi/venv``, a Cortex-A72 ``/proc/cpuinfo``,
Pi-style thermal/governor files and a ``vcgencmd`` stub, capped to one core and N MB.

Layout on the machine (stdlib only, so ``python3 -m tests.devices.rig`` works without a venv):

- ``CACHE_DIR/rootfs-<recipe hash>.tar``: the built root filesystem, keyed by the hash of
  ``build_rootfs.sh`` + ``rootfs-packages.txt`` + ``rootfs-requirements.txt``; reused across
  runs and clones, rebuilt when missing. ``rootfs-<hash>/`` is its extraction (overlay lower).
- ``STATE_DIR/dev<n>/``: a device's overlay (upper, work, merged) and ``cpuinfo``.
- network namespace ``ekdev<n>``: veth ``ekh<n>`` (10.250.<n>.1, root namespace) <->
  ``eth0`` (10.250.<n>.2, device); sshd listens on 10.250.<n>.2:22.
- cgroups ``/sys/fs/cgroup/{cpuset,cpu,memory}/edgekit-testdevices/dev<n>``.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
RECIPE_FILES = ("build_rootfs.sh", "rootfs-packages.txt", "rootfs-requirements.txt")
# Per device arch: the recipe files (the first builds DIR from MIRROR), the cache name prefix,
# the qemu binfmt entry. armv7l is a Pi 3 on 32-bit Raspberry Pi OS.
RECIPES = {"aarch64": (RECIPE_FILES, "rootfs-", "qemu-aarch64"),
           "armv7l": (("build_rootfs_armhf.sh",), "rootfs-armhf-", "qemu-arm")}
CACHE_DIR = Path(os.environ.get("EDGEKIT_TESTDEVICES_CACHE", "/var/cache/edgekit-testdevices"))
STATE_DIR = Path(os.environ.get("EDGEKIT_TESTDEVICES_STATE", "/var/lib/edgekit-testdevices"))
BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")
CGROUP_ROOT = Path("/sys/fs/cgroup")
CGROUP_NAME = "edgekit-testdevices"
CONTROLLERS = ("cpuset", "cpu", "memory")
NETNS_PREFIX = "ekdev"
DEVICE_USER = "pi"
DEVICE_PYTHON = "/home/pi/venv/bin/python"
DEFAULT_MEMORY_MB = 512
STATE_FILES = "/var/lib/edgekit-testdevice"  # inside the device: vcgencmd's throttled value

# A Raspberry Pi 4 Model B's /proc/cpuinfo (4 x Cortex-A72, part 0xd08). The host's x86
# cpuinfo makes XNNPACK's CPU detection crash under emulation.
CPUINFO_PROCESSOR = """processor\t: {n}
BogoMIPS\t: 108.00
Features\t: fp asimd evtstrm crc32 cpuid
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x0
CPU part\t: 0xd08
CPU revision\t: 3

"""
CPUINFO_TAIL = """Hardware\t: BCM2835
Revision\t: d03114
Serial\t\t: 10000000edgedev{n}
Model\t\t: Raspberry Pi 4 Model B Rev 1.4
"""
# A Raspberry Pi 3 Model B under the 32-bit OS (4 x Cortex-A53, part 0xd03, in ARMv7 mode).
CPUINFO_PROCESSOR_ARMV7 = """processor\t: {n}
model name\t: ARMv7 Processor rev 4 (v7l)
BogoMIPS\t: 38.40
Features\t: half thumb fastmult vfp edsp neon vfpv3 tls vfpv4 idiva idivt vfpd32 lpae evtstrm crc32
CPU implementer\t: 0x41
CPU architecture: 7
CPU variant\t: 0x0
CPU part\t: 0xd03
CPU revision\t: 4

"""
CPUINFO_TAIL_ARMV7 = """Hardware\t: BCM2835
Revision\t: a02082
Serial\t\t: 00000000edgedev{n}
Model\t\t: Raspberry Pi 3 Model B Rev 1.2
"""
CPUINFO = {"aarch64": (CPUINFO_PROCESSOR, CPUINFO_TAIL), "armv7l": (CPUINFO_PROCESSOR_ARMV7, CPUINFO_TAIL_ARMV7)}


class RigUnavailable(Exception):
    """The machine cannot run the test devices at all (no root, no binfmt_misc)."""


class RigError(Exception):
    """The rig failed to build or start a device."""


def log(message: str) -> None:
    print(f"rig: {message}", flush=True)


def _run(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, **kwargs)
    if check and result.returncode != 0:
        raise RigError(f"{shlex.join(args)} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    return result


# --- prerequisites -------------------------------------------------------------------------

def check_prerequisites() -> None:
    """Register qemu-aarch64 if needed; RigUnavailable names what the machine lacks."""
    if os.geteuid() != 0:
        raise RigUnavailable("the test devices need root (network namespaces, mounts, cgroups); run as root")
    if not (BINFMT_DIR / "register").exists():
        mounted = _run("mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT_DIR), check=False)
        if not (BINFMT_DIR / "register").exists():
            raise RigUnavailable(f"binfmt_misc is not available (mount -t binfmt_misc failed: "
                                 f"{mounted.stderr.strip()}); aarch64 binaries cannot run on this kernel")
    for tool in ("debootstrap", "qemu-aarch64-static", "update-binfmts", "ip", "unshare", "ssh-keygen"):
        if shutil.which(tool) is None:
            raise RigError(f"'{tool}' is missing: install scripts/system-packages.txt "
                           "(qemu-user-static, binfmt-support, debootstrap, iproute2, openssh-client)")
    ensure_binfmt("qemu-aarch64")
    missing = [c for c in CONTROLLERS if not (CGROUP_ROOT / c / "cgroup.procs").exists()]
    if missing:
        raise RigError(f"cgroup v1 controllers {missing} are not mounted under {CGROUP_ROOT}")


def ensure_binfmt(name: str) -> None:
    """qemu-user entry ``name`` registered and enabled, with the F flag (works inside a chroot)."""
    entry = BINFMT_DIR / name
    if not entry.exists() or "enabled" not in entry.read_text():
        _run("update-binfmts", "--enable", name, check=False)
    if not entry.exists() or "enabled" not in entry.read_text():
        raise RigUnavailable(f"{name} is not registered with binfmt_misc and "
                             f"'update-binfmts --enable {name}' did not register it")
    if "F" not in _binfmt_flags(entry):
        raise RigUnavailable(f"{entry} lacks the fix-binary (F) flag, so qemu is not found inside a chroot; "
                             "re-register it with qemu-user-static's binfmt entry")


def _binfmt_flags(entry: Path) -> str:
    match = re.search(r"^flags:\s*(\S*)", entry.read_text(), re.M)
    return match.group(1) if match else ""


# --- the cached root filesystem ------------------------------------------------------------

def recipe_hash(arch: str = "aarch64") -> str:
    """Hash of everything that decides the rootfs' content: editing any of it rebuilds."""
    digest = hashlib.sha256()
    for name in RECIPES[arch][0]:
        digest.update(name.encode() + b"\0" + (HERE / name).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def debian_mirror() -> str:
    """The machine's configured Debian mirror (deb822 or one-line apt sources), for debootstrap."""
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for path in sources:
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        if path.suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", text):
                fields = dict(re.findall(r"^(\w[\w-]*):\s*(.+)$", stanza, re.M))
                if "bookworm" in fields.get("Suites", "").split() and "deb" in fields.get("Types", "").split():
                    return fields["URIs"].split()[0]
        elif path.suffix == ".list":
            for line in text.splitlines():
                parts = line.split()
                if len(parts) >= 3 and parts[0] == "deb" and parts[2] == "bookworm":
                    return next(p for p in parts[1:] if not p.startswith("["))
    raise RigError("no Debian bookworm mirror found in /etc/apt/sources.list*; add one (e.g. deb.debian.org)")


def ensure_rootfs(arch: str = "aarch64") -> Path:
    """The extracted rootfs for the current recipe: build + cache the tarball if missing."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    prefix = RECIPES[arch][1]
    key = recipe_hash(arch)
    tarball, lower = CACHE_DIR / f"{prefix}{key}.tar", CACHE_DIR / f"{prefix}{key}"
    with open(CACHE_DIR / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test runs on one machine build it once
        if (lower / ".complete").exists():
            return lower
        if not tarball.exists():
            _build_tarball(tarball, arch)
        log(f"extracting {tarball.name}")
        partial = CACHE_DIR / f"extract-{key}"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
        _run("tar", "-xpf", str(tarball), "-C", str(partial), "--numeric-owner")
        (partial / ".complete").touch()
        shutil.rmtree(lower, ignore_errors=True)
        partial.rename(lower)
        return lower


def _build_tarball(tarball: Path, arch: str) -> None:
    build = CACHE_DIR / f"build-{tarball.stem}"
    shutil.rmtree(build, ignore_errors=True)
    mirror = debian_mirror()
    recipe, prefix, _ = RECIPES[arch]
    log(f"building the {arch} rootfs from {mirror} (debootstrap + pip under qemu; ~5 min, once per machine)")
    started = time.monotonic()
    result = subprocess.run(["bash", str(HERE / recipe[0]), str(build), mirror],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        raise RigError(f"building the rootfs failed ({result.returncode}); last output:\n{result.stdout[-3000:]}")
    partial = tarball.with_suffix(".tar.part")
    _run("tar", "-cpf", str(partial), "--numeric-owner", "-C", str(build), ".")
    partial.rename(tarball)
    shutil.rmtree(build, ignore_errors=True)
    others = [other for _, other, _ in RECIPES.values() if other != prefix and other.startswith(prefix)]
    for old in CACHE_DIR.glob(f"{prefix}*"):  # this arch's other recipes' caches are dead weight
        if old.name not in (tarball.name, tarball.stem) and not any(old.name.startswith(p) for p in others):
            shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink()
    log(f"rootfs cached as {tarball} in {time.monotonic() - started:.0f}s")


# --- devices ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Device:
    """One test device; ``index`` n gives its namespace, addresses and state directory."""

    index: int
    arch: str = "aarch64"  # "armv7l" (a Pi 3, 32-bit), or "x86_64": the host's own sshd and Python in a namespace

    @property
    def emulated(self) -> bool:
        return self.arch in RECIPES

    @property
    def name(self) -> str:
        return f"{NETNS_PREFIX}{self.index}"

    @property
    def hostname(self) -> str:
        return f"edgekit-pi-{self.index}" if self.emulated else f"edgekit-pc-{self.index}"

    @property
    def ip(self) -> str:
        return f"10.250.{self.index}.2"

    @property
    def user(self) -> str:
        return DEVICE_USER if self.emulated else "root"

    @property
    def spec(self) -> str:
        """What to pass to ``edgekit deploy --host``."""
        return f"{self.user}@{self.ip}"

    @property
    def dir(self) -> Path:
        return STATE_DIR / f"dev{self.index}"

    @property
    def root(self) -> Path:
        """The device's filesystem as seen from the host (x86: a home dir under the state dir)."""
        return self.dir / "merged"

    @property
    def known_hosts_line(self) -> str:
        key = (self.root / "etc/ssh/ssh_host_ed25519_key.pub").read_text().split()[:2]
        return f"{self.ip} {' '.join(key)}\n"

    def cgroup(self, controller: str) -> Path:
        return CGROUP_ROOT / controller / CGROUP_NAME / f"dev{self.index}"

    def set_throttled(self, value: str) -> None:
        """What ``vcgencmd get_throttled`` reports next (e.g. ``0x50005``)."""
        (self.root / STATE_FILES.lstrip("/") / "throttled").write_text(value + "\n")

    def set_temperature(self, celsius: float) -> None:
        (self.root / "sys/class/thermal/thermal_zone0/temp").write_text(f"{round(celsius * 1000)}\n")

    def set_memory_limit(self, mb: int) -> None:
        (self.cgroup("memory") / "memory.limit_in_bytes").write_text(str(mb * 1024 * 1024))

    def memory_limit_mb(self) -> int:
        return int((self.cgroup("memory") / "memory.limit_in_bytes").read_text()) // (1024 * 1024)

    def pids(self) -> list[int]:
        path = self.cgroup("memory") / "cgroup.procs"
        return [int(p) for p in path.read_text().split()] if path.exists() else []


def start_device(index: int, authorized_key: str, *, arch: str = "aarch64",
                 memory_mb: int = DEFAULT_MEMORY_MB, timeout: float = 120) -> Device:
    """Start device ``index`` (1..249) and wait until its sshd answers on ``ip:22``."""
    device = Device(index, arch)
    if device.dir.exists() or _netns_exists(device.name):
        stop_device(device)
    device.dir.mkdir(parents=True)
    (device.dir / "arch").write_text(arch)
    try:
        if device.emulated:
            ensure_binfmt(RECIPES[arch][2])
            _prepare_arm_root(device, ensure_rootfs(arch), authorized_key)
        else:
            _prepare_x86_root(device, authorized_key)
        _make_network(device)
        _make_cgroups(device, memory_mb)
        _wait_for_sshd(device, _launch(device), timeout)
    except BaseException:
        stop_device(device)
        raise
    return device


def _prepare_arm_root(device: Device, lower: Path, authorized_key: str) -> None:
    for sub in ("upper", "work", "merged"):
        (device.dir / sub).mkdir()
    _run("mount", "-t", "overlay", "overlay", "-o",
         f"lowerdir={lower},upperdir={device.dir / 'upper'},workdir={device.dir / 'work'}", str(device.root))
    root = device.root
    processor, tail = CPUINFO[device.arch]
    (device.dir / "cpuinfo").write_text("".join(processor.format(n=n) for n in range(4)) + tail.format(n=device.index))
    _fake_sys(root)
    _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", device.hostname,
         "-f", str(root / "etc/ssh/ssh_host_ed25519_key"))
    (root / "etc/ssh/sshd_config.d/edgekit-device.conf").write_text(
        f"HostKey /etc/ssh/ssh_host_ed25519_key\nListenAddress {device.ip}\n")
    (root / "etc/hostname").write_text(device.hostname + "\n")
    uid, gid = _passwd_ids(root, DEVICE_USER)
    ssh_dir = root / "home" / DEVICE_USER / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    (ssh_dir / "authorized_keys").write_text(authorized_key.strip() + "\n")
    for path in (ssh_dir, ssh_dir / "authorized_keys"):
        os.chown(path, uid, gid)
    (ssh_dir / "authorized_keys").chmod(0o600)


def _fake_sys(root: Path) -> None:
    """The /sys files the agent reads on a Pi (a plain tree: the host's sysfs would be x86's)."""
    files = {"class/thermal/thermal_zone0/temp": "48312", "class/thermal/thermal_zone0/type": "cpu-thermal",
             "devices/system/cpu/online": "0-3", "devices/system/cpu/possible": "0-3",
             "devices/system/cpu/present": "0-3"}
    for cpu in range(4):
        files[f"devices/system/cpu/cpu{cpu}/cpufreq/scaling_governor"] = "ondemand"
        files[f"devices/system/cpu/cpu{cpu}/cpufreq/scaling_cur_freq"] = "1500000"
    for rel, value in files.items():
        path = root / "sys" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value + "\n")


def _passwd_ids(root: Path, user: str) -> tuple[int, int]:
    for line in (root / "etc/passwd").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == user:
            return int(fields[2]), int(fields[3])
    raise RigError(f"user {user} missing from {root}/etc/passwd; delete {CACHE_DIR} to rebuild the rootfs")


def _prepare_x86_root(device: Device, authorized_key: str) -> None:
    """The x86 device: the host's own sshd, with config, host key and keys under the state dir."""
    etc = device.root / "etc/ssh"
    etc.mkdir(parents=True)
    (device.root / "home").mkdir(mode=0o700)
    _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", device.hostname, "-f", str(etc / "ssh_host_ed25519_key"))
    (etc / "authorized_keys").write_text(authorized_key.strip() + "\n")
    (etc / "authorized_keys").chmod(0o600)
    (etc / "sshd_config").write_text(
        f"ListenAddress {device.ip}\nHostKey {etc / 'ssh_host_ed25519_key'}\nPidFile none\n"
        f"AuthorizedKeysFile {etc / 'authorized_keys'}\nPermitRootLogin prohibit-password\n"
        "UsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "Subsystem sftp internal-sftp\nPrintMotd no\n")


def _netns_exists(name: str) -> bool:
    return Path("/run/netns", name).exists()


def _make_network(device: Device) -> None:
    ns, veth = device.name, f"ekh{device.index}"
    _run("ip", "netns", "add", ns)
    _run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
    _run("ip", "addr", "add", f"10.250.{device.index}.1/24", "dev", veth)
    _run("ip", "link", "set", veth, "up")
    _run("ip", "-n", ns, "addr", "add", f"{device.ip}/24", "dev", "eth0")
    _run("ip", "-n", ns, "link", "set", "eth0", "up")
    _run("ip", "-n", ns, "link", "set", "lo", "up")


def _make_cgroups(device: Device, memory_mb: int) -> None:
    """One core (cpuset + a CFS quota of 100%) and ``memory_mb`` for everything the device runs."""
    cpus = os.cpu_count() or 1
    parent = CGROUP_ROOT / "cpuset" / CGROUP_NAME
    parent.mkdir(exist_ok=True)
    for knob in ("cpuset.cpus", "cpuset.mems"):  # a v1 cpuset child needs its parent's set first
        if not (parent / knob).read_text().strip():
            (parent / knob).write_text((CGROUP_ROOT / "cpuset" / knob).read_text())
    for controller in CONTROLLERS:
        device.cgroup(controller).mkdir(parents=True, exist_ok=True)
    cpuset = device.cgroup("cpuset")
    (cpuset / "cpuset.cpus").write_text(str((device.index - 1) % cpus))
    (cpuset / "cpuset.mems").write_text((parent / "cpuset.mems").read_text())
    (device.cgroup("cpu") / "cpu.cfs_period_us").write_text("100000")
    (device.cgroup("cpu") / "cpu.cfs_quota_us").write_text("100000")
    device.set_memory_limit(memory_mb)


def _launch(device: Device) -> subprocess.Popen:
    """sshd as pid 1 of new pid/mount/uts namespaces inside the device's network namespace."""
    root = shlex.quote(str(device.root))
    if device.emulated:
        inner = f"""set -e
hostname {device.hostname}
mount -t proc proc {root}/proc
mount --bind {shlex.quote(str(device.dir / 'cpuinfo'))} {root}/proc/cpuinfo
mount -t tmpfs -o mode=0755,size=1m dev {root}/dev
for d in null zero full random urandom tty; do touch {root}/dev/$d; mount --bind /dev/$d {root}/dev/$d; done
mkdir {root}/dev/pts {root}/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts {root}/dev/pts
ln -s pts/ptmx {root}/dev/ptmx
mount -t tmpfs -o size=64m shm {root}/dev/shm
exec chroot {root} /usr/sbin/sshd -D -e"""
    else:
        inner = f"""set -e
hostname {device.hostname}
mount -t proc proc /proc
mkdir -p /run/sshd
exec /usr/sbin/sshd -D -e -f {root}/etc/ssh/sshd_config"""
    procs = " ".join(shlex.quote(str(device.cgroup(c) / "cgroup.procs")) for c in CONTROLLERS)
    outer = (f"for f in {procs}; do echo $$ > $f; done; exec ip netns exec {device.name} "
             f"unshare --uts --mount --pid --fork --kill-child --propagation private sh -c {shlex.quote(inner)}")
    log_file = open(device.dir / "sshd.log", "w")
    process = subprocess.Popen(["sh", "-c", outer], stdin=subprocess.DEVNULL, stdout=log_file,
                               stderr=subprocess.STDOUT, start_new_session=True)
    (device.dir / "pid").write_text(str(process.pid))
    return process


def _wait_for_sshd(device: Device, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((device.ip, 22), timeout=2) as sock:
                sock.settimeout(10)
                if sock.recv(64).startswith(b"SSH-"):
                    return
        except OSError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.5)
    output = (device.dir / "sshd.log").read_text(errors="replace")[-2000:]
    raise RigError(f"device {device.name}: sshd did not answer on {device.ip}:22 within {timeout:.0f}s; "
                   f"its log:\n{output}")


# --- stop, status ---------------------------------------------------------------------------

def stop_device(device: Device) -> None:
    """Kill everything in the device's cgroup, then remove its mounts, namespace and cgroups."""
    deadline = time.monotonic() + 30
    while device.pids() and time.monotonic() < deadline:
        for pid in device.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.2)
    if device.root.is_mount():
        _run("umount", "-l", str(device.root), check=False)
    _run("ip", "link", "del", f"ekh{device.index}", check=False)
    if _netns_exists(device.name):
        _run("ip", "netns", "del", device.name, check=False)
    for controller in CONTROLLERS:
        _rmdir_when_empty(device.cgroup(controller))
    shutil.rmtree(device.dir, ignore_errors=True)


def _rmdir_when_empty(cgroup: Path) -> None:
    for _ in range(50):  # a cgroup is removable a moment after its last task exits
        try:
            cgroup.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.1)


def running_devices() -> list[Device]:
    """Every device this rig left on the machine: state dirs, namespaces and cgroups."""
    indexes = {int(p.name[3:]) for p in STATE_DIR.glob("dev*") if p.name[3:].isdigit()}
    indexes |= {int(p.name[len(NETNS_PREFIX):]) for p in Path("/run/netns").glob(f"{NETNS_PREFIX}*")
                if p.name[len(NETNS_PREFIX):].isdigit()}
    for controller in CONTROLLERS:
        indexes |= {int(p.name[3:]) for p in (CGROUP_ROOT / controller / CGROUP_NAME).glob("dev*")
                    if p.name[3:].isdigit()}
    return [Device(i, _state_arch(i)) for i in sorted(indexes)]


def _state_arch(index: int) -> str:
    recorded = STATE_DIR / f"dev{index}" / "arch"
    if recorded.exists():
        return recorded.read_text().strip()
    return "aarch64" if (STATE_DIR / f"dev{index}/upper").exists() else "x86_64"


def stop_all() -> None:
    """Remove every device (also the leftovers of a crashed run)."""
    for device in running_devices():
        stop_device(device)
    for controller in CONTROLLERS:
        _rmdir_when_empty(CGROUP_ROOT / controller / CGROUP_NAME)
