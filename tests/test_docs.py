"""The design notes under docs/ are what code comments point to: every ``docs/<file>.md#<anchor>``
pointer in the repository must land on an existing page and heading, the links between the pages
must resolve, the headings other modules were promised must exist, and no source may cite a
document that is not in the repository.

Anchors are GitHub's heading slugs (lower case, punctuation dropped, spaces -> '-', a repeated
heading gets '-1', '-2', ...), so a pointer that passes here also works on GitHub.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SKIPPED_DIRS = {"__pycache__", "venv", "node_modules"}
# A pointer such as docs/gan.md#losses (not part of a longer path such as x/docs/...).
POINTER = re.compile(r"(?<![\w/.])docs/([A-Za-z0-9_/-]+\.md)(?:#([A-Za-z0-9_-]+))?")
# A markdown link target inside docs/: (page.md#anchor), (page.md) or (#anchor).
LINK = re.compile(r"\]\((?!https?:)([A-Za-z0-9_/.-]*\.md)?(?:#([A-Za-z0-9_-]+))?\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")

# Headings that modules cite or were promised to cite (the team's list); keep them stable.
PROMISED = {
    "skeleton.md": ("joints", "bone-orders", "mirroring"),
    "data_formats.md": ("h36m-3d", "h36m-2d", "detections", "3dhp", "bone-templates", "splits",
                        "synthetic-dataset"),
    "cameras.md": ("camera-vector", "normalisation", "world-and-camera", "projection"),
    "dh_model.md": ("link-transform", "dh-tables", "angle-layout", "ranges", "normal-sampling",
                    "bone-scaling"),
    "gan.md": ("generator", "critics", "losses", "iteration", "bone-swap", "fake-pool"),
    "training.md": ("epoch-loop", "lr-schedule", "pose-net-step", "checkpoints", "outputs",
                    "resume", "flags"),
    "evaluation.md": ("protocol", "metrics", "3dhp", "3dpw"),
    "lifters.md": ("initialisation", "mlp", "gcn", "videopose", "poseformer", "temporal-lifters"),
    "video.md": ("sequences-and-windows", "video-generator", "motion-critics", "critic-order",
                 "video-pose-net", "video-schedule", "video-evaluation"),
    "distributed.md": ("launch", "batch-split", "randomness", "gradient-sync"),
    "inference.md": ("custom-keypoints", "joint-mapping", "lifting", "3dpw-preparation"),
    "differences.md": ("defects-fixed", "kept-for-fidelity", "additions"),
}


def github_slug(text: str) -> str:
    """The anchor GitHub gives a heading: markup and punctuation dropped, lower case, spaces -> '-'."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)      # [text](link) -> text
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Slugs of every heading of a markdown page (fenced code blocks ignored)."""
    seen: dict[str, int] = {}
    out = set()
    in_code = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            in_code = not in_code
            continue
        m = None if in_code else HEADING.match(line)
        if m:
            slug = github_slug(m.group(2))
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def repository_files(*suffixes: str) -> list[Path]:
    """Files of the work tree with these suffixes, outside hidden folders (.git, .venv, ...) and
    the generated synthetic dataset; hidden folders are not even entered."""
    out = []
    for folder, dirs, files in os.walk(ROOT):
        here = Path(folder)
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS
                   and (here / d) != ROOT / "data" / "synthetic"]
        out += [here / f for f in files if Path(f).suffix in suffixes]
    return sorted(out)


def _problem(page: Path, anchor: str | None, cache: dict) -> str | None:
    if not page.is_file():
        return f"no file {page.relative_to(ROOT)}"
    if anchor is None:
        return None
    if page not in cache:
        cache[page] = anchors(page)
    if anchor not in cache[page]:
        return f"no heading #{anchor} in {page.relative_to(ROOT)}"
    return None


def test_github_slug_matches_github():
    assert github_slug("Bone orders") == "bone-orders"
    assert github_slug("H36M 3D") == "h36m-3d"
    assert github_slug("World and camera") == "world-and-camera"
    assert github_slug("`forward_kinematics` (fast, batched)") == "forward_kinematics-fast-batched"
    assert github_slug("See [gan.md](gan.md#losses)") == "see-ganmd"
    page = DOCS / "differences.md"
    assert {"defects-fixed", "kept-for-fidelity", "additions"} <= anchors(page)


def test_anchors_skip_code_and_number_repeats(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("# Title\n## Notes\n```bash\n# not a heading\n```\n## Notes\n", encoding="utf-8")
    assert anchors(page) == {"title", "notes", "notes-1"}


def test_every_docs_pointer_in_the_repository_resolves():
    cache: dict = {}
    bad, count = [], 0
    for path in repository_files(".py", ".md"):
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in POINTER.finditer(line):
                count += 1
                problem = _problem(DOCS / m.group(1), m.group(2), cache)
                if problem:
                    bad.append(f"{path.relative_to(ROOT)}:{lineno}: {m.group(0)}: {problem}")
    assert count > 0, "no docs/ pointer found at all: is the scan looking at the right tree?"
    assert not bad, "unresolved design references:\n" + "\n".join(bad)


def test_links_between_the_design_notes_resolve():
    cache: dict = {}
    bad = []
    for page in sorted(DOCS.glob("*.md")):
        for lineno, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            for m in LINK.finditer(line):
                target = (page.parent / m.group(1)).resolve() if m.group(1) else page
                problem = _problem(target, m.group(2), cache)
                if problem:
                    bad.append(f"{page.relative_to(ROOT)}:{lineno}: {m.group(0)}: {problem}")
    assert not bad, "broken links in docs/:\n" + "\n".join(bad)


@pytest.mark.parametrize("name", sorted(PROMISED))
def test_promised_headings_exist(name):
    page = DOCS / name
    assert page.is_file(), f"docs/{name} is missing"
    missing = [a for a in PROMISED[name] if a not in anchors(page)]
    assert not missing, f"docs/{name} lacks the headings {missing}"


def test_index_lists_every_page():
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    pages = sorted(p.name for p in DOCS.glob("*.md") if p.name != "README.md")
    assert [p for p in pages if f"({p})" not in index] == []


def test_no_source_cites_the_outside_fact_sheet():
    word = "FAC" + "TS"       # spelt in two parts so that this file does not match itself
    hits = [f"{p.relative_to(ROOT)}:{n}" for p in repository_files(".py")
            for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if word in line]
    assert not hits, f"{len(hits)} lines cite {word}: " + ", ".join(hits[:20])
