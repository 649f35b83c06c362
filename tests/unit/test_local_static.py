"""Which files the local gateway's page server hands out (local/static.py): only files
inside its root, not hidden, of a known type; everything else is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from local.static import StaticFiles


@pytest.fixture
def site(tmp_path: Path) -> StaticFiles:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html>")
    (root / "app.js").write_text("export {};")
    (root / "assets" / "logo.svg").write_text("<svg/>")
    (root / ".env").write_text("SECRET=1")
    (root / "notes.txt").write_text("not a page asset")
    (tmp_path / "secret.html").write_text("outside the root")
    (root / "link.html").symlink_to(tmp_path / "secret.html")
    return StaticFiles(root)


def test_the_root_path_is_the_index_and_assets_are_found_by_name(site: StaticFiles) -> None:
    assert site.resolve("/") == site.root / "index.html"
    assert site.resolve("/app.js") == site.root / "app.js"
    assert site.resolve("/assets/logo.svg") == site.root / "assets" / "logo.svg"


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.html",  # up and out of the root
        "/assets/../../secret.html",
        "/link.html",  # a symlink inside that points outside
        "/.env",  # hidden files
        "/assets/./logo.svg",
        "/notes.txt",  # a type the page never serves
        "/assets",  # a directory: no listing
        "/assets/",
        "/app.js\\..\\..\\secret.html",
        "/app.js\0.html",
        "/missing.js",
    ],
)
def test_anything_but_a_plain_file_of_the_root_is_refused(site: StaticFiles, path: str) -> None:
    assert site.resolve(path) is None
