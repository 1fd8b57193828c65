"""A failed upload never leaves a half-written list on the vehicle without saying so: the error
says what the vehicle now holds, and ``on_failure="clear"`` clears it (built-in simulator: link
cuts are fault injection)."""

from __future__ import annotations

import pytest
from _transfer_samples import survey_mission
from testkit import run_cli

from groundstation import mission_transfer as mt
from groundstation.link import Link
from missions.formats import write_wpl
from missions.items import MissionItem


def _cut_after(sim, n, seconds=3.0):
    cut = []

    def progress(done, total):
        if done >= n and not cut:
            cut.append(done)
            sim.cut_link(seconds)

    return progress, cut


@pytest.mark.parametrize("on_failure", ["keep", "clear"])
def test_failed_upload_says_what_the_vehicle_holds(sim_factory, on_failure):
    sim = sim_factory(speedup=10)
    old = survey_mission(30)
    new = survey_mission(120, alt_m=25.0)
    progress, cut = _cut_after(sim, 40)
    with Link.connect(sim.url, timeout_s=30) as link:
        mt.upload_and_verify(link, old, 0)
        with pytest.raises(mt.MissionTransferError) as err:
            mt.upload_and_verify(
                link, new, 0, item_timeout_s=1.0, progress=progress, on_failure=on_failure
            )
        msg = str(err.value)
        assert "\n" not in msg
        onboard = mt.download(link, 0)
    held = msg.split("the vehicle now holds ")[1]
    if on_failure == "keep":
        assert "do not fly it" in msg
        assert len(onboard) > 1
        # the message's count is what the vehicle holds: read it back the same way
        assert mt.onboard_summary(new, onboard, 0).endswith(held.split(":")[0].split(";")[0])
        assert "of 119 items of the new mission" in held or "of the new mission (of 119)" in held
    else:
        assert "was cleared (--on-failure clear)" in msg
        assert len(onboard) <= 1


def test_onboard_summary_counts_new_old_and_mixed_items():
    new = survey_mission(10, alt_m=25.0)
    old = survey_mission(10, alt_m=35.0)
    assert (
        mt.onboard_summary(new, new[:5], 0)
        == "the vehicle now holds 4 of 9 items of the new mission"
    )
    mixed = new[:2] + old[2:]
    text = mt.onboard_summary(new, mixed, 0)
    assert "holds 9 mission items: " in text and "then" in text
    assert mt.onboard_summary(new, new[:1], 0) == "the vehicle now holds no mission items"


def test_upload_all_of_a_plain_wpl_clears_the_previous_fence(sim_factory, tmp_path):
    from missions.geo import offset

    sim = sim_factory(speedup=10)
    with Link.connect(sim.url, timeout_s=30) as link:
        home = mt.download(link, 0)[0]
        ring = [offset(home.x, home.y, b, 300.0) for b in (45, 135, 225, 315)]
        fence = [
            MissionItem(seq=i, frame=6, command=5001, param1=4, x=a, y=b, mission_type=1)
            for i, (a, b) in enumerate(ring)
        ]
        mt.upload_and_verify(link, fence, 1)
    path = write_wpl(survey_mission(10), tmp_path / "plain.waypoints")
    r = run_cli("mission", "upload", str(path), "--connect", sim.url, "--type", "all", timeout=120)
    assert r.returncode == 0, r.stderr
    assert "fence: the file has none; cleared the 4 fence items" in r.stdout
    with Link.connect(sim.url, timeout_s=30) as link:
        assert mt.download(link, 1) == []
