"""`dronepatrol mission show` and `mission upload` input checks via the real CLI (no vehicle)."""

from __future__ import annotations

import json

from missions.formats import read_mission_file
from missions.plan_io import PLAN_JSON

DEMO = "configs/districts/demo.geojson"


def _plan(cli, repo_root, out) -> dict:
    r = cli("plan", str(repo_root / DEMO), "--out", str(out), "--no-preview")
    assert r.returncode == 0, r.stderr
    return json.loads((out / PLAN_JSON).read_text(encoding="utf-8"))


def test_show_counts_the_home_slot_apart_as_fly_does(cli, tmp_path, repo_root):
    """A WPL file of home + N lines: show says "N+1 items: home (seq 0) + N"; fly flies N."""
    out = tmp_path / "plan"
    index = _plan(cli, repo_root, out)
    wpl = out / index["sorties"][0]["waypoints_file"]
    item_lines = [ln for ln in wpl.read_text().splitlines()[1:] if ln.strip()]
    total, to_fly = len(item_lines), len(item_lines) - 1  # the first line is home (seq 0)
    r = cli("mission", "show", str(wpl))
    assert r.returncode == 0, r.stderr
    title = r.stdout.splitlines()[0]
    assert title.startswith(f"{wpl} [wpl110] mission: {total} items: home (seq 0) + {to_fly}; ")
    assert "planned home 41." in title
    # The .plan file has no home item: it is added as seq 0, and counted the same way.
    r = cli("mission", "show", str(out / "sortie_1.plan"), "--type", "mission")
    assert f"mission: {total} items: home (seq 0) + {to_fly}" in r.stdout
    # fly counts the items after home (groundstation.cli.fly: len(mission) - 1).
    from groundstation.cli.fly import load_sorties

    assert len(load_sorties(wpl)[0].mission) - 1 == to_fly
    # Fence lists have no home slot.
    fence = out / "fence.waypoints"
    n_fence = len(read_mission_file(fence).fence)
    r = cli("mission", "show", str(fence))
    assert f"fence: {n_fence} items" in r.stdout and "home (seq 0)" not in r.stdout
    # A plan folder: one titled table per sortie.
    r = cli("mission", "show", str(out), "--type", "mission")
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("sortie ")]
    assert len(lines) == len(index["sorties"]) >= 2
    assert all(" mission: " in ln and "items: home (seq 0) + " in ln for ln in lines)


def test_upload_of_a_plan_folder_says_which_file_to_give_or_to_fly_it(cli, tmp_path, repo_root):
    out = tmp_path / "plan"
    index = _plan(cli, repo_root, out)
    # The check comes before connecting: nothing listens on port 9.
    r = cli("mission", "upload", str(out), "--connect", "tcp:127.0.0.1:9")
    assert r.returncode == 2
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith(f"error: {out}: is a plan folder, and upload takes one mission file: ")
    assert str(out / index["sorties"][0]["waypoints_file"]) in line
    assert str(out / "fence.waypoints") in line
    assert line.endswith(f"or fly the whole plan with 'dronepatrol fly {out}'")
    plain = tmp_path / "empty"
    plain.mkdir()
    r = cli("mission", "upload", str(plain), "--connect", "tcp:127.0.0.1:9")
    assert r.returncode == 2
    assert r.stderr.strip() == (
        f"error: {plain}: is a folder, expected a mission file (WPL, .plan or .mission)"
    )


def test_mission_help_says_upload_takes_one_file(cli):
    r = cli("mission", "--help")
    assert r.returncode == 0
    upload = next(ln for ln in r.stdout.splitlines() if ln.strip().startswith("upload "))
    assert "plan folder" not in upload and "one mission file" in upload
    r = cli("mission", "upload", "--help")
    assert "dronepatrol fly PLAN_DIR" in " ".join(r.stdout.split())
