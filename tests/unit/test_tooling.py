"""The CI tooling around the template: pinned tools, justified checkov skips, a loud
python3.12 finder, build output kept out of git."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess

import pytest
import yaml

from local.template import load_template

ROOT = pathlib.Path(__file__).resolve().parents[2]
FINDER = ROOT / "tools" / "find-python312"


def test_ci_runs_lint_validate_and_tests() -> None:
    steps = [
        line for line in (ROOT / ".ci/run").read_text().splitlines() if line.startswith("make ")
    ]
    assert steps == ["make lint", "make validate", "make test"]


@pytest.mark.parametrize("name", [".aws-sam/", ".tools/"])
def test_build_output_and_tool_virtualenvs_are_ignored_by_git(name: str) -> None:
    assert name in (ROOT / ".gitignore").read_text().splitlines()


@pytest.mark.parametrize(
    ("requirements", "package"),
    [("requirements-sam.txt", "aws-sam-cli"), ("requirements-checkov.txt", "checkov")],
)
def test_tools_are_pinned(requirements: str, package: str) -> None:
    lines = [
        line
        for line in (ROOT / "tools" / requirements).read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert len(lines) == 1
    assert re.fullmatch(rf"{package}==\d+\.\d+\.\d+", lines[0])


def test_every_checkov_skip_says_why_on_its_line() -> None:
    text = (ROOT / ".checkov.yaml").read_text()
    skips = yaml.safe_load(text)["skip-check"]
    assert skips
    for check in skips:
        [line] = [line for line in text.splitlines() if re.search(rf"- {check}\b", line)]
        assert re.search(r"#\s*\S.{20,}", line), line


def test_every_resource_level_checkov_skip_has_a_comment() -> None:
    skips = [
        (logical_id, skip)
        for logical_id, resource in load_template()["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips
    for logical_id, skip in skips:
        assert set(skip) == {"id", "comment"}, logical_id
        assert len(skip["comment"]) > 20, logical_id


def test_python312_finder_names_a_working_interpreter_or_says_there_is_none(
    tmp_path: pathlib.Path,
) -> None:
    # No python3.12 anywhere it looks: a clear message and a failure, not a shim's error.
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {"PATH": f"{empty}:/bin", "HOME": str(tmp_path), "PYENV_ROOT": str(empty)}
    if any(pathlib.Path(d, "python3.12").exists() for d in ("/usr/bin", "/usr/local/bin")):
        pytest.skip("a system python3.12 exists: the finder would find it")
    missing = subprocess.run(  # noqa: S603 - our own script
        [str(FINDER)], env=env, capture_output=True, text=True, check=False
    )
    assert missing.returncode == 1
    assert "No working python3.12 found" in missing.stderr
    assert missing.stdout == ""

    # A broken shim on PATH is passed over.
    shim = empty / "python3.12"
    shim.write_text("#!/bin/sh\necho 'pyenv: python3.12: command not found' >&2\nexit 127\n")
    shim.chmod(0o755)
    broken = subprocess.run(  # noqa: S603
        [str(FINDER)], env=env, capture_output=True, text=True, check=False
    )
    assert broken.returncode == 1

    found = subprocess.run(  # noqa: S603
        [str(FINDER)], env=dict(os.environ), capture_output=True, text=True, check=False
    )
    if found.returncode == 0:
        version = subprocess.run(  # noqa: S603
            [found.stdout.strip(), "-c", "import sys; print(sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert version.stdout.strip() == "(3, 12)"


def make_dry_run(*args: str, user: str = "root") -> subprocess.CompletedProcess[str]:
    """`make -n ARGS` with the shell's USER set to `user`: what make would run, not run."""
    return subprocess.run(  # noqa: S603 - make, on our own Makefile
        ["make", "-n", "--no-print-directory", *args],  # noqa: S607 - make from PATH
        cwd=ROOT,
        env={**os.environ, "USER": user},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.mark.parametrize("args", [["chat"], ["chat", "USER="]], ids=["no-USER", "empty-USER"])
def test_make_chat_without_a_user_on_its_command_line_refuses_before_building(
    args: list[str],
) -> None:
    # the shell's USER (root here) is not taken for the chat user
    done = make_dry_run(*args)

    assert done.returncode != 0
    assert "make chat needs the user to chat as: make chat USER=alice" in done.stderr
    assert done.stdout == ""  # nothing would have run, not even the virtualenv's set-up


def test_make_chat_with_a_user_chats_as_that_user() -> None:
    done = make_dry_run("chat", "USER=alice", "VENV=/nonexistent-venv", user="root")

    assert done.returncode == 0, done.stderr
    assert "-m courier_chat --user alice" in done.stdout
