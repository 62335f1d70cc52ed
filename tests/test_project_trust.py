"""A runyard.toml is obeyed only when the current user (or root) owns it and no one
else can write it: another user's file in a shared parent folder must never choose
the root, the command run, or where alert mail goes.

The tests run as root: ``os.chown`` to uid 65534 (nobody) makes a foreign file.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from runyard.engine import Run
from runyard.engine.notify import smtp_settings
from runyard.engine.root import untrusted_because

NOBODY = 65534

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another uid needs root")


def runyard(*args, cwd, env=None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RUNYARD_")}
    return subprocess.run([sys.executable, "-m", "runyard.app.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=60,
                          env={**environ, **(env or {})}, stdin=subprocess.DEVNULL)


@pytest.fixture
def shared(tmp_path, monkeypatch) -> Path:
    """A world-writable parent folder (like a group scratch space) with a project
    file in it that points the root elsewhere and defines a command."""
    for name in list(os.environ):
        if name.startswith("RUNYARD_"):
            monkeypatch.delenv(name)
    shared = tmp_path / "scratch"
    (shared / "me" / "work").mkdir(parents=True)
    os.chmod(shared, 0o777)
    marker = tmp_path / "executed"
    (shared / "runyard.toml").write_text(textwrap.dedent(f"""
        root = "{tmp_path / 'their-runs'}"

        [operations.train]
        command = "touch {marker}"

        [smtp]
        host = "mail.evil.example"
        to = "them@evil.example"
    """))
    return shared


def refused(result, project: Path, why: str) -> None:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1, result.stderr
    assert str(project) in result.stderr and why in result.stderr, result.stderr


def test_a_file_of_another_user_is_refused(shared, tmp_path):
    project = shared / "runyard.toml"
    os.chown(project, NOBODY, NOBODY)
    work = shared / "me" / "work"
    for args in (("ls",), ("run", "train", "--detach"), ("run", "train", "--root",
                                                          tmp_path / "mine")):
        refused(runyard(*args, cwd=work), project, f"belongs to uid {NOBODY}")
    assert not (tmp_path / "executed").exists()
    assert not (tmp_path / "their-runs").exists()


def test_a_file_others_can_write_is_refused(shared, tmp_path):
    project = shared / "runyard.toml"
    for mode, shown in ((0o664, "-rw-rw-r--"), (0o646, "-rw-r--rw-")):
        os.chmod(project, mode)
        result = runyard("run", "train", "--detach", cwd=shared / "me" / "work")
        refused(result, project, f"other users can write it (mode {shown})")
    assert not (tmp_path / "executed").exists()


def test_a_link_of_another_user_to_your_file_is_refused(shared, tmp_path):
    project = shared / "runyard.toml"
    target = tmp_path / "mine.toml"
    project.rename(target)
    project.symlink_to(target)
    os.lchown(project, NOBODY, NOBODY)
    refused(runyard("ls", cwd=shared / "me"), project, f"belongs to uid {NOBODY}")


def test_your_own_file_is_used(shared, tmp_path):
    os.chmod(shared / "runyard.toml", 0o644)
    result = runyard("run", "train", cwd=shared / "me" / "work")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "executed").exists()
    assert (tmp_path / "their-runs").is_dir()


def test_the_tracking_api_does_not_write_into_a_foreign_root(shared, tmp_path,
                                                             monkeypatch, caplog):
    os.chown(shared / "runyard.toml", NOBODY, NOBODY)
    monkeypatch.chdir(shared / "me")
    run = Run()
    assert run.init(name="mine") is False
    assert "belongs to uid" in caplog.text
    assert not (tmp_path / "their-runs").exists()


def test_alert_mail_settings_ignore_a_foreign_file(shared, monkeypatch):
    monkeypatch.chdir(shared / "me")
    assert smtp_settings()["host"] == "mail.evil.example"  # our own file: used
    os.chown(shared / "runyard.toml", NOBODY, NOBODY)
    assert "host" not in smtp_settings()


def test_a_root_owned_file_is_trusted_by_other_users(shared):
    """What another user (uid 65534) would decide about the same file."""
    project = shared / "runyard.toml"
    os.chmod(project, 0o644)
    assert untrusted_because(project.stat(), uid=NOBODY) is None
    os.chown(project, 12345, 12345)
    assert untrusted_because(project.stat(), uid=NOBODY) == \
        f"it belongs to uid 12345, not to you (uid {NOBODY}) or root"
    os.chown(project, NOBODY, NOBODY)
    assert untrusted_because(project.stat(), uid=NOBODY) is None


def test_saving_an_operation_keeps_the_file_obeyed_whatever_the_umask(tmp_path):
    import subprocess
    import sys

    script = ("import sys; from pathlib import Path; from runyard.engine.project import "
              "save_operation; save_operation(Path(sys.argv[1]), 'quick', {'workers': 2})")
    for umask, existing in (("002", None), ("002", 0o600), ("022", 0o640)):
        project = tmp_path / f"{umask}-{existing}" / "runyard.toml"
        project.parent.mkdir()
        if existing is not None:
            project.write_text("# mine\n")
            project.chmod(existing)
        subprocess.run(["sh", "-c", f'umask {umask}; exec "$0" -c "$1" "$2"', sys.executable,
                        script, str(project)], check=True, timeout=60)
        mode = project.stat().st_mode & 0o777
        assert mode == (0o644 if existing is None else existing), (umask, oct(mode))
        from runyard.engine.root import read_project_text

        assert "[operations.quick]" in read_project_text(project)  # still obeyed
