"""Heroku's real classic Python build, run on this machine: the judge of the template's first promise.

The buildpack is heroku-buildpack-python at BUILDPACK_TAG, unchanged: `bin/detect`, `bin/compile` and
`bin/release`, run as Heroku runs them (a clean environment, `/app`, one config var per file in ENV_DIR). Then
the slug is started as a dyno starts it: at `/app`, `.profile.d/*.sh` sourced, the Procfile command run with
the config vars, SIGTERM to stop it. Nothing here models the build; the buildpack's own code does the work.

What the buildpack fetches from outside is provided here when the outside cannot be reached:
- **the buildpack itself**: `../shared/buildpacks/heroku-buildpack-python-<tag>.tar.gz` beside the checkout
  when present, else a `git clone` at the same tag (cached);
- **the Python runtime**: `lib/python.sh` downloads it from a fixed S3 URL with curl (and `lib/uv.sh` fetches uv from
  releases.astral.sh for a uv app). When S3 answers, it is used.
  Otherwise `curl` is pointed (by `$CURL_HOME/.curlrc`: `connect-to` and `cacert`) at a loopback HTTPS server
  that answers with an archive of a local interpreter of the same X.Y, laid out as Heroku's archives are
  (`builds/build_python_runtime.sh`). The build then prints the patch version it asked for; the one that runs
  is the local one, and `Build.python` records both.

A missing buildpack, interpreter or root (the build writes `/app`) raises NotVerified: never a pass. Stdlib
only, so the noxfile and the tests can both use it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import http.server
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tarfile
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

from tests import pythons

BUILDPACK_TAG = "v351"  # the one home of the classic buildpack's version the template is judged by
BUILDPACK_REPO = "https://github.com/heroku/heroku-buildpack-python"
ROOT = Path(__file__).resolve().parents[1]
S3_HOST = "heroku-buildpack-python.s3.dualstack.us-east-1.amazonaws.com"
UV_HOST = "releases.astral.sh"  # lib/uv.sh downloads uv's release archive from here (no checksum)
PLAIN_PATH = "/usr/local/bin:/usr/bin:/bin"  # a Heroku build's and dyno's PATH before the buildpack's
APP = Path("/app")
MARK = ".heroku-worker-real-build"  # marks an /app that these tests hold, so a crashed run's leftovers may go
LOCK = Path(tempfile.gettempdir()) / "heroku-worker-real-build.lock"  # one build at a time: they share /app
SYSTEM_CA = "/etc/ssl/certs/ca-certificates.crt"  # Debian's and Ubuntu's (so the stacks') CA bundle
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class NotVerified(RuntimeError):
    """Something the real build needs is missing here: the result is NOT VERIFIED, never a pass."""


def not_verified(error: NotVerified) -> NoReturn:
    """In a pytest test: a failure under CI=true (what the test needs must be there: the real build, a tool, the
    Pythons it compares), a visible skip elsewhere. Every test that cannot verify its promise calls this one."""
    import pytest  # only tests call this; the harness itself needs no pytest

    if pythons.on_ci():
        pytest.fail(f"NOT VERIFIED: {error} (CI=true: what this test needs must be here)")
    pytest.skip(f"NOT VERIFIED: {error}")


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(os.environ.get("HEROKU_BUILD_CACHE") or Path(base) / "heroku-worker" / "real-build")


# --- The buildpack -----------------------------------------------------------------------------------------


def shared_archive() -> Path:
    """Where the steering repo's shared/ keeps the buildpack (beside this checkout, or beside its clone)."""
    name = f"heroku-buildpack-python-{BUILDPACK_TAG}.tar.gz"
    override = os.environ.get("HEROKU_BUILDPACK_ARCHIVE")
    return Path(override) if override else ROOT.parent / "shared" / "buildpacks" / name


def buildpack_source() -> Path:
    """The archive of the buildpack at BUILDPACK_TAG: the shared copy, else a clone made once and archived."""
    archive = shared_archive()
    if archive.is_file():
        return archive
    cached = cache_root() / f"heroku-buildpack-python-{BUILDPACK_TAG}.tar.gz"
    if cached.is_file():
        return cached
    if os.environ.get("HEROKU_BUILDPACK_ARCHIVE"):
        raise NotVerified(f"no heroku-buildpack-python {BUILDPACK_TAG}: {archive} is missing")
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "bp"
        command = ["git", "clone", "-q", "--depth", "1", "--branch", BUILDPACK_TAG, BUILDPACK_REPO, str(clone)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise NotVerified(f"no heroku-buildpack-python {BUILDPACK_TAG}: {archive} is missing ({error})") from None
        if done.returncode != 0:
            why = (done.stderr.strip().splitlines() or ["git clone failed"])[-1]
            raise NotVerified(f"no heroku-buildpack-python {BUILDPACK_TAG}: {archive} is missing and {why}")
        cached.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "-C", str(clone), "archive", "--prefix=heroku-buildpack-python/", "-o", str(cached), "HEAD"],
            check=True,
        )  # fmt: skip
    return cached


def extract_buildpack(into: Path) -> Path:
    """A fresh copy per build: bin/compile appends to the buildpack's own `export` file."""
    with tarfile.open(buildpack_source()) as tar:
        tar.extractall(into, filter="tar") if sys.version_info >= (3, 12) else tar.extractall(into)
    return into / "heroku-buildpack-python"


# --- The Python runtime ------------------------------------------------------------------------------------


def answers(host: str) -> bool:
    try:
        socket.create_connection((host, 443), timeout=3).close()
    except OSError:
        return False
    return True


def s3_answers() -> bool:
    return answers(S3_HOST)


def runtime_archive(minor: str, into: Path) -> tuple[Path, str]:
    """A `.tar.zst` of a local Python `minor` laid out as Heroku's runtime archives; and its full version."""
    python = pythons.find_python(minor)
    if python is None:
        raise NotVerified(f"no Python {minor} interpreter here to serve as Heroku's Python {minor} runtime")
    if shutil.which("zstd") is None:
        raise NotVerified("zstd is not installed (the buildpack extracts its runtime with `tar --zstd`)")
    # getattr: Python 2.7 (which the buildpack rejects before any download) has no base_prefix.
    probe = "import sys, platform; print(getattr(sys, 'base_prefix', sys.prefix)); print(platform.python_version())"
    prefix, full = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    archive = into / f"python-{full}.tar.zst"
    if archive.is_file():
        return archive, full
    stage = into / f"stage-{full}"
    shutil.rmtree(stage, ignore_errors=True)
    skip = shutil.ignore_patterns("__pycache__", "test", "tests", "idlelib", "turtledemo", "*.a", "site-packages")
    for part in ("bin", "lib", "include"):
        shutil.copytree(Path(prefix) / part, stage / part, symlinks=True, ignore=skip)
    (stage / "lib" / f"python{minor}" / "site-packages").mkdir()
    for script in (stage / "bin").iterdir():  # the buildpack installs pip itself, from the bundled wheel
        if script.name.startswith(("pip", "idle", "pydoc")) or script.name in ("python", "python3"):
            script.unlink()
    for link in ("python", "python3"):
        (stage / "bin" / link).symlink_to(f"python{minor}")
    subprocess.run(["tar", "--zstd", "-cf", str(archive), "-C", str(stage), "."], check=True)
    shutil.rmtree(stage)
    return archive, full


def requested_minor(project: Path) -> str:
    """The X.Y the build will ask for: runtime.txt (read first on Cedar), else .python-version, else 3.14."""
    for name, prefix in (("runtime.txt", "python-"), (".python-version", "")):
        path = project / name
        if path.is_file():
            lines = [line.strip() for line in path.read_text().splitlines() if line.strip()[:1] not in ("", "#")]
            if lines:
                return ".".join(lines[0].removeprefix(prefix).split(".")[:2])
    return "3.14"


def uv_archive(version: str, into: Path) -> Path:
    """uv's release archive (`uv-x86_64-unknown-linux-gnu/{uv,uvx}`, as lib/uv.sh extracts it) made from the
    same version's manylinux wheel on the package index: the binaries Astral publishes in both."""
    archive = into / f"uv-{version}-x86_64-unknown-linux-gnu.tar.gz"
    if archive.is_file():
        return archive
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary",
            ":all:",
            "--platform",
            "manylinux_2_17_x86_64",
            "--python-version",
            "3.12",
            f"uv=={version}",
            "-d",
            tmp,
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)  # fmt: skip
        wheels = list(Path(tmp).glob("uv-*.whl"))
        if done.returncode != 0 or not wheels:
            raise NotVerified(f"uv {version} (the buildpack's) could not be fetched: {done.stderr.strip()[-200:]}")
        stage = Path(tmp) / "uv-x86_64-unknown-linux-gnu"
        stage.mkdir()
        with zipfile.ZipFile(wheels[0]) as wheel:
            for name in ("uv", "uvx"):
                (stage / name).write_bytes(wheel.read(f"uv-{version}.data/scripts/{name}"))
                (stage / name).chmod(0o755)
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(stage, arcname=stage.name)
    return archive


class _Runtimes(http.server.BaseHTTPRequestHandler):
    """Answers `GET /python-X.Y.Z-ubuntu-NN.04-amd64.tar.zst` for the prepared X.Y, and uv's release path for
    the prepared uv (404 for anything else)."""

    archives: dict[str, Path]
    served: list[str]

    def do_GET(self) -> None:  # http.server's name
        match = re.fullmatch(r"/python-(3\.\d+)\.\d+-ubuntu-\d+\.04-amd64\.tar\.zst", self.path)
        archive = self.archives.get(match.group(1)) if match else None
        uv = re.fullmatch(r"/github/uv/releases/download/([\d.]+)/uv-x86_64-unknown-linux-gnu\.tar\.gz", self.path)
        if uv:
            archive = self.archives.get(f"uv-{uv.group(1)}")
            if archive is not None:
                self.send_response(200)
                self.send_header("Content-Length", str(archive.stat().st_size))
                self.end_headers()
                with archive.open("rb") as f:
                    shutil.copyfileobj(f, self.wfile)
                return
        if archive is None:
            self.send_error(404)
            return
        self.served.append(archive.name.removesuffix(".tar.zst").removeprefix("python-"))
        self.send_response(200)
        self.send_header("Content-Length", str(archive.stat().st_size))
        self.end_headers()
        with archive.open("rb") as f:
            shutil.copyfileobj(f, self.wfile)

    def log_message(self, format: str, *args: object) -> None:  # http.server's names
        pass


@contextlib.contextmanager
def runtime_source(work: Path, minor: str, uv_version: str | None = None) -> Iterator[tuple[dict[str, str], list[str]]]:
    """The environment that sends the buildpack's runtime download here (empty when S3 answers), and the list
    of local versions served. The archive is made before the build, so a missing interpreter is NotVerified."""
    served: list[str] = []
    if s3_answers():
        yield {}, served
        return
    folder = cache_root() / "runtimes"
    folder.mkdir(parents=True, exist_ok=True)
    archive, _full = runtime_archive(minor, folder)
    archives = {minor: archive}
    if uv_version and not answers(UV_HOST):  # a uv app: lib/uv.sh fetches uv itself
        archives[f"uv-{uv_version}"] = uv_archive(uv_version, folder)
    if shutil.which("openssl") is None:
        raise NotVerified("openssl is not installed (it makes the loopback server's certificate)")
    cert, key = work / "s3.pem", work / "s3.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={S3_HOST}",
         "-addext", f"subjectAltName=DNS:{S3_HOST},DNS:{UV_HOST}", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    handler = type("Runtimes", (_Runtimes,), {"archives": archives, "served": served})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    redirects = "".join(f"connect-to = {host}:443:127.0.0.1:{server.server_port}\n" for host in (S3_HOST, UV_HOST))
    (work / ".curlrc").write_text(f"{redirects}cacert = {cert}\n")
    try:
        yield {"CURL_HOME": str(work)}, served
    finally:
        server.shutdown()
        server.server_close()


# --- Build, release, dyno ----------------------------------------------------------------------------------


@dataclasses.dataclass
class Build:
    slug: Path  # the build directory, which is the slug (moved to /app by place_slug)
    returncode: int
    output: str  # bin/detect + bin/compile, colours removed
    python: dict[str, str]  # the version the buildpack installed -> the local one served for it (none from S3)

    @property
    def warnings(self) -> list[str]:
        """Each buildpack warning's summary line (`Warning: …`), in order."""
        return re.findall(r"^ !     Warning: (.+)$", self.output, re.MULTILINE)

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def git_files(project: Path) -> list[str]:
    """What `git push heroku main` sends: the committed files (Heroku builds from git, not the folder)."""
    done = subprocess.run(["git", "ls-files", "-z"], cwd=project, capture_output=True, check=True)
    files = [name for name in done.stdout.decode().split("\0") if name]
    if not files:
        raise AssertionError(f"{project}: nothing committed (git add and commit first, as for a deploy)")
    return files


def _clean_env(**extra: str) -> dict[str, str]:
    """Heroku's build environment: nothing of this machine's (no pip config, no PYTHON*), except its CA store.

    The stack image trusts the system's CA bundle. Here the package index may be reached through a TLS proxy
    that only that bundle trusts, so pip's own certifi is pointed at it too: the build bootstraps pip with
    `--isolated`, which ignores PIP_CERT, and the pip bundled with older Pythons (3.10's 23.0) reads only certifi.
    """
    trust = {name: SYSTEM_CA for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE") if Path(SYSTEM_CA).is_file()}
    return {"PATH": PLAIN_PATH, "LANG": "C.UTF-8", "PIP_CONFIG_FILE": "/dev/null", **trust, **extra}


@contextlib.contextmanager
def exclusive_app() -> Iterator[None]:
    """Hold the machine's `/app` for one build and its dynos (the buildpack installs Python under it).

    `/app` is made when missing (as root; elsewhere create it writable first, e.g. `sudo install -d -o $USER
    /app`), emptied afterwards, and removed if it was made here. One holding something else is left alone.
    """
    LOCK.touch(exist_ok=True)
    with LOCK.open() as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        made = not APP.exists()
        try:
            APP.mkdir(exist_ok=True)
        except PermissionError:
            raise NotVerified("the real build writes /app, as on Heroku: run as root, or make /app writable") from None
        if not os.access(APP, os.W_OK):
            raise NotVerified("/app is not writable: the real build installs Python under it, as on Heroku")
        if any(p.name not in (".heroku", MARK) for p in APP.iterdir()) and not (APP / MARK).exists():
            raise NotVerified("/app holds files that no earlier real build left: they are left alone")
        (APP / MARK).touch()
        try:
            yield
        finally:
            _empty(APP)
            if made:
                APP.rmdir()


def _empty(folder: Path) -> None:
    for child in folder.iterdir():
        child.unlink() if child.is_symlink() or not child.is_dir() else shutil.rmtree(child)


def compile_app(project: Path, work: Path, *, stack: str, config: dict[str, str]) -> Build:
    """`git push heroku main`: bin/detect and bin/compile on the committed files (call under exclusive_app)."""
    slug, cache, env_dir = work / "build", work / "cache", work / "env"
    for folder in (slug, cache, env_dir):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    for name in git_files(project):
        target = slug / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(project / name, target, follow_symlinks=False)
    for name, value in config.items():
        (env_dir / name).write_text(value)
    buildpack = extract_buildpack(work / "buildpack")
    uv_version = None
    if (slug / "uv.lock").is_file():
        uv_version = (buildpack / "requirements" / "uv.txt").read_text().strip().removeprefix("uv==")
    with runtime_source(work, requested_minor(slug), uv_version) as (curl_env, served):
        env = _clean_env(HOME=str(work), STACK=stack, **curl_env)
        detect = subprocess.run([buildpack / "bin" / "detect", slug], env=env, capture_output=True, text=True)
        output = detect.stdout + detect.stderr
        returncode = detect.returncode
        if returncode == 0:
            compile_ = subprocess.run(
                [buildpack / "bin" / "compile", slug, cache, env_dir],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900,
            )  # fmt: skip
            output, returncode = output + compile_.stdout, compile_.returncode
    shutil.rmtree(work / "buildpack", ignore_errors=True)
    requested = dict(zip(re.findall(r"Installing Python (\S+)", output), served, strict=False))
    return Build(slug, returncode, ANSI.sub("", output), requested)


def place_slug(build: Build) -> None:
    """Put the slug where a dyno has it: its files moved into `/app` (where the build linked its Python)."""
    _empty(APP)
    for child in build.slug.iterdir():
        shutil.move(child, APP / child.name)
    (APP / MARK).touch()


def procfile(app: Path = APP) -> dict[str, str]:
    """The Procfile's processes (name -> command) of the slug at `app`."""
    lines = (app / "Procfile").read_text().splitlines()
    return dict(line.split(":", 1) for line in lines if line.strip() and not line.lstrip().startswith("#"))


def dyno(command: str, config: dict[str, str], name: str) -> subprocess.Popen[str]:
    """A one-process dyno: HOME=/app, cwd /app, .profile.d sourced, then the command with the config vars."""
    script = f'for f in {APP}/.profile.d/*.sh; do . "$f"; done; exec ' + command.strip()
    env = _clean_env(HOME=str(APP), DYNO=name, PORT="5000", **config)
    return subprocess.Popen(
        ["bash", "-c", script], cwd=APP, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def run_once(command: str, config: dict[str, str], name: str, timeout: float = 300) -> tuple[int, str]:
    """A one-off dyno (the release phase): its exit code and output."""
    process = dyno(command, config, name)
    output, _ = process.communicate(timeout=timeout)
    return process.returncode, output


def run_until_sigterm(command: str, config: dict[str, str], name: str, seconds: float) -> tuple[int | None, int, str]:
    """Run a process dyno for `seconds`, then SIGTERM as Heroku does (SIGKILL 30 s later).

    Returns (exit code before SIGTERM or None if it was still running, exit code after, output)."""
    process = dyno(command, config, name)
    try:
        early = process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        early = None
    if early is None:
        process.send_signal(signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        output += "\n(SIGKILL: still running 30 s after SIGTERM, as Heroku would kill it)"
    return early, process.returncode, output
