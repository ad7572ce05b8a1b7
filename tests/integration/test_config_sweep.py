"""configMap volume folders left behind are swept on a real engine, and only those.

While the controller is away, a pod's containers are removed by hand (`docker rm -f`) and its
declaration goes: nobody removes its folder. The next controller's sweep removes it, and keeps the
running pod's folder, a folder marked with another engine's id (another controller on this host)
and a folder without a mark.
"""

from __future__ import annotations

import os
from pathlib import Path

from controller.model.configdata import ConfigMap
from controller.model.configrefs import ConfigMapVolumeSource
from controller.model.meta import ObjectMeta
from controller.model.pod import Volume, VolumeMount
from tests.factories import container, pod
from tests.integration.dockerd import DEMO_IMAGE
from tests.integration.harness import Controller, docker_cli
from tests.integration.manifests import IDLE


async def test_the_folder_of_a_pod_removed_while_the_controller_was_away_is_swept(
    docker_host: str, tmp_path: Path
) -> None:
    base = tmp_path / "configvolumes"
    settings = ConfigMap(ObjectMeta("settings"), data={"level": "1"})
    app = container(
        "app", "sh", "-c", IDLE, image=DEMO_IMAGE, volume_mounts=(VolumeMount("cfg", "/cfg"),)
    )
    volume = Volume("cfg", config_map=ConfigMapVolumeSource("settings"))

    def controller_on_base() -> Controller:
        made = Controller(docker_host, config_volume_dir=str(base))
        made.engine.set_configs([settings])
        return made

    first = controller_on_base()
    try:
        await first.start([pod("gone", [app], volumes=[volume], grace=2)])
        await first.wait_running_ready("gone")
        ids = [c.id for c in first.containers("gone")]
    finally:
        await first.stop()  # the controller goes away; its pods keep running
    (old_uid,) = os.listdir(base)
    engine_id = docker_cli(docker_host, "info", "--format", "{{.ID}}").strip()
    assert (base / old_uid / ".engine").read_text().strip() == engine_id

    # meanwhile the pod's containers are removed by hand and its declaration goes
    docker_cli(docker_host, "rm", "-f", *ids)
    second = controller_on_base()
    try:
        await second.start([pod("kept", [app], volumes=[volume], grace=2)])
        await second.wait_running_ready("kept")
        (kept_uid,) = {c.identity.pod.uid for c in second.containers("kept")}
        assert sorted(os.listdir(base)) == sorted([old_uid, kept_uid])  # the old one is left

        # another controller's folder on this host, and one without a mark: never judged
        (base / "foreign" / "cfg").mkdir(parents=True)
        (base / "foreign" / ".engine").write_text("another-engine\n")
        (base / "unmarked" / "cfg").mkdir(parents=True)
        assert await second.engine.config_volumes.sweep() == []  # all too fresh to judge
        for uid in (old_uid, kept_uid, "foreign"):
            os.utime(base / uid / ".engine", (1_000_000_000, 1_000_000_000))

        assert await second.engine.config_volumes.sweep() == [old_uid]
        assert sorted(os.listdir(base)) == sorted([kept_uid, "foreign", "unmarked"])
        running = second.running("kept", "app")[0]
        assert docker_cli(docker_host, "exec", running.id, "cat", "/cfg/level") == "1"
    finally:
        await second.stop()
