"""From `pip install` to a course of one's own, with nothing from this repository: the built
wheel goes into a fresh venv, and `drip init`, `split`, `lint`, `render`, `demo` and the
preview's pages run in an empty folder.

Honest about "nothing from the repository": the fresh venv sees the dependencies through a
.pth line naming this venv's site-packages (a plain path: the .pth files there, this
project's editable-install finder among them, are not run), and an audit hook in the fresh
venv logs every file or folder it opens or lists inside the repository, other than this
venv; the log must stay empty. Never skipped (also not without CI=true): it needs nothing
but this venv, and no network.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from tests.test_init import ARTICLE

pytestmark = pytest.mark.install

REPO = Path(__file__).resolve().parent.parent
# What a build never needs: version control, environments, caches, run output, the tests.
NOT_BUILT = (".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis",
             "demo", "outbox", "out", "tests", "*.db", "*.db-*")

GUARD = '''\
import os, sys
_REPO, _ALLOWED = {repo!r}, {allowed!r}
_log = open({log!r}, "a", encoding="utf-8")  # opened before the hook is set: writes are no event


def _hook(event, args):
    if event not in ("open", "os.listdir", "os.scandir") or not args:
        return
    path = args[0]
    if not isinstance(path, (str, bytes, os.PathLike)):
        return  # a file descriptor, or None for the working folder
    path = os.path.realpath(os.fsdecode(path))
    inside = path == _REPO or path.startswith(_REPO + os.sep)
    if (inside and not path.startswith(_ALLOWED + os.sep)) or "__editable__" in path:
        _log.write(f"{{event}} {{path}}\\n")
        _log.flush()


sys.addaudithook(_hook)
'''


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None,
        timeout: float = 180) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"{args}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def build_wheel(tmp_path: Path) -> Path:
    """The wheel, built offline from a copy of the source (the repository is left untouched)."""
    import setuptools

    if tuple(int(p) for p in setuptools.__version__.split(".")[:2]) < (70, 1):
        pytest.fail(f"setuptools {setuptools.__version__} in {sys.prefix} cannot build the wheel "
                    "offline; pip install -e '.[test]' brings setuptools>=70.1")
    source = tmp_path / "source"
    # symlinks=True: sender/defaults links to templates/ and the article stay links, as in a clone.
    shutil.copytree(REPO, source, symlinks=True, ignore=shutil.ignore_patterns(*NOT_BUILT))
    dist = tmp_path / "dist"
    run(sys.executable, "-m", "pip", "wheel", source, "--no-deps", "--no-build-isolation", "--no-index",
        "--quiet", "--wheel-dir", dist, cwd=tmp_path)
    [wheel] = dist.glob("dripcourse-*.whl")
    return wheel


def fresh_venv(tmp_path: Path, wheel: Path, log: Path) -> Path:
    """A new venv holding only the wheel, the dependencies seen from this venv, and the guard."""
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "--quiet",
        wheel, cwd=tmp_path)
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))",
                    cwd=tmp_path).stdout.strip())
    deps = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site / "zz_dependencies.pth").write_text("".join(f"{d}\n" for d in sorted(deps)))
    (site / "_no_repository.py").write_text(GUARD.format(
        repo=os.path.realpath(REPO), allowed=os.path.realpath(sys.prefix), log=str(log)))
    (site / "_no_repository.pth").write_text("import _no_repository\n")
    return venv


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        body: bytes = response.read()
        return body.decode()


def test_the_wheel_alone_takes_a_new_user_from_init_to_the_demo(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as z:
        packed = set(z.namelist())
    for folder, packaged in ((REPO / "templates", "sender/defaults/templates"),
                             (REPO / "sender" / "web" / "templates", "sender/web/templates"),
                             (REPO / "sender" / "caniemail", "sender/caniemail")):
        for path in folder.rglob("*"):
            if path.is_file():
                assert f"{packaged}/{path.relative_to(folder).as_posix()}" in packed, path
    assert "sender/defaults/demo-article.txt" in packed
    for package in (p.parent for p in (REPO / "sender").rglob("__init__.py")):
        assert f"{package.relative_to(REPO).as_posix()}/__init__.py" in packed, package

    log = tmp_path / "repository-files-used.log"
    venv = fresh_venv(tmp_path, wheel, log)
    work = tmp_path / "my-course"
    work.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DRIP_", "PYTHON")) and k != "VIRTUAL_ENV"}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", COLUMNS="200")
    drip = venv / "bin" / "drip"

    where = run(venv / "bin" / "python", "-c",
                "import sender, sender.defaults; print(sender.__file__); print(sender.defaults.TEMPLATES)",
                cwd=work, env=env).stdout.split()
    assert all(Path(p).is_relative_to(venv) for p in where), where

    init = run(drip, "init", cwd=work, env=env)
    assert "created dripcourse.toml" in init.stdout and "drip demo" in init.stdout
    (work / "article.md").write_text(ARTICLE, encoding="utf-8")
    run(drip, "split", "article.md", "--campaign", "sleep", cwd=work, env=env)
    lessons = sorted(p.name for p in (work / "campaigns" / "sleep").glob("0*.md"))
    assert lessons == ["01-keep-a-regular-wake-time.md", "02-cool-dark-and-quiet.md",
                       "03-wind-down-for-half-an-hour.md"]

    lint = run(drip, "lint", "sleep", cwd=work, env=env)
    assert [line.split(": warning: ")[1].split()[:3] for line in lint.stderr.splitlines()] == [
        [name, "is", "not"] for name in ("base_url", "from_address", "reply_to", "postal_address")]

    run(drip, "render", "sleep", "--out", "out", cwd=work, env=env)
    html = (work / "out" / "02-cool-dark-and-quiet.html").read_text()
    assert "Cool, Dark and Quiet" in html and "Lesson 2 of 3" in html and "Unsubscribe" in html
    assert (work / "out" / "02-cool-dark-and-quiet.txt").read_text().strip()

    demo = run(drip, "demo", cwd=work, env=env, timeout=300)
    assert "this run: sent 25, failed 0" in demo.stdout
    names = sorted(p.name for p in (work / "demo" / "outbox").glob("*.eml"))
    assert len(names) == 25
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d{4}Z_[a-z]+@example\.com_glute-activation_0[1-5]\.eml", n)
               for n in names), names

    # The preview's pages and the lesson emails it shows, from the installed package too.
    port = free_port()
    preview = subprocess.Popen([str(drip), "preview", "--port", str(port)], cwd=work, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                index = get(f"http://127.0.0.1:{port}/preview/")
                break
            except OSError:
                assert preview.poll() is None, preview.communicate()
                assert time.monotonic() < deadline, "the preview never answered"
                time.sleep(0.2)
        assert "Sleep Better in Three Steps" in index
        page = get(f"http://127.0.0.1:{port}/preview/sleep/01-keep-a-regular-wake-time")
        assert "Keep a Regular Wake Time" in page
        email_html = get(f"http://127.0.0.1:{port}/preview/sleep/01-keep-a-regular-wake-time/email.html")
        assert "Reply with a question" in email_html
        assert "Confirm" in get(f"http://127.0.0.1:{port}/preview/system/confirm/email.html")
    finally:
        preview.terminate()
        preview.communicate(timeout=30)

    assert log.exists()  # the guard ran
    assert log.read_text() == "", "repository files were used:\n" + log.read_text()
