"""The read API at scale: lists and watches over 1,000 pods on the fake runtime.

An engine runs in this process on the in-memory runtime (a fake clock: pods come up, then nothing
moves unless the bench moves it), with the real API server on loopback in the same process. It
times, with one client at a time:
- a list of every pod as JSON and as kubectl's Table (median and p95 of `--requests`);
- a watch with a label selector open by 1, 10 and 100 watchers, and one pod's change (its app
  container exits, and no timer runs, so one change): time until every watcher has the event,
  and CPU of this process per change (CPU time, unlike the latencies, barely moves when other
  work shares the machine);
- the CPU of this process over `--idle-seconds` with `--idle-watches` open watches while nothing
  changes (`time.process_time`, so the client's and engine's share is in it too: an upper bound).

`--poll` serves the watches as before the change signal: every watched resource rendered and
diffed every 0.5 s. Run: `.venv/bin/python bench/api_scale.py` (about two minutes, most of it
bringing 1,000 pods up on the fake runtime).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import time
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from controller.api.server import make_app  # noqa: E402
from controller.config import (  # noqa: E402
    CapacityOverrides,
    EngineSettings,
    NodeLifecycleSettings,
    NodeSettings,
    RuntimeSettings,
)
from controller.engine.engine import Engine  # noqa: E402
from controller.engine.ports import FakeClock  # noqa: E402
from controller.model.meta import NodeName, PodKey  # noqa: E402
from controller.runtime.fake import FakeRuntime, run_forever  # noqa: E402
from tests.engine.conftest import settle_engine  # noqa: E402
from tests.factories import IMAGE, desired, pod  # noqa: E402

PAUSE = "localhost/podyard-pause:1"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
NODE = NodeName("node-a")


async def bring_up(count: int) -> tuple[Engine, FakeRuntime]:
    clock = FakeClock()
    runtime = FakeRuntime(NODE, clock, images=[IMAGE, PAUSE], behaviour=run_forever)
    engine = Engine(
        {NODE: runtime},
        clock,
        node_settings={NODE: NodeSettings(name=NODE, capacity=CapacityOverrides(pods=count * 2))},
        engine=EngineSettings(),
        runtime=RuntimeSettings(pause_image=PAUSE, relist_interval_seconds=3600),
        node_lifecycle=NodeLifecycleSettings(monitor_grace_seconds=1e9),
    )
    pods = []
    for i in range(count):
        p = pod(f"web-{i:04d}")
        meta = p.metadata.__class__(
            name=p.metadata.name, namespace=p.metadata.namespace, labels={"app": "web"}
        )
        pods.append(desired(p.__class__(metadata=meta, spec=p.spec)))
    engine.set_desired(pods)
    await engine.start()
    await settle_engine(engine, [runtime], deadline_seconds=3600)
    return engine, runtime


async def serve(engine: Engine, poll: bool) -> tuple[web.AppRunner, str]:
    if poll:  # as the API served watches before the change signal
        app = make_app(engine.pod_views, lambda: True, events=engine.events.list)
    else:
        app = make_app(
            engine.pod_views,
            lambda: True,
            events=engine.events.list,
            changes=engine.changes,
            pod_views_for=lambda keys: engine.reconciler.views(PodKey(*k) for k in keys),
        )
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


def stats(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"{statistics.median(ordered) * 1000:7.1f} ms | {p95 * 1000:7.1f} ms"


async def time_lists(session: aiohttp.ClientSession, base: str, n: int, table: bool) -> str:
    headers = {"Accept": TABLE} if table else {}
    samples, cpu = [], []
    for _ in range(n):
        cpu_start, start = time.process_time(), time.perf_counter()
        async with session.get(f"{base}/api/v1/pods", headers=headers) as response:
            body = await response.read()
        samples.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
    items = json.loads(body)["rows" if table else "items"]
    return (
        f"{stats(samples)} | {statistics.median(cpu) * 1000:7.1f} ms"
        f" | {len(items)} pods, {len(body) // 1024} KiB"
    )


async def open_watch(session: aiohttp.ClientSession, base: str) -> aiohttp.ClientResponse:
    response = await session.get(
        f"{base}/api/v1/pods?watch=true&labelSelector=app%3Dweb&resourceVersion="
        + str(
            json.loads(await (await session.get(f"{base}/api/v1/pods?limit=1")).read())["metadata"][
                "resourceVersion"
            ]
        )
    )
    assert response.status == 200
    return response


async def until_event(response: aiohttp.ClientResponse, name: str) -> None:
    while True:
        line = await response.content.readline()
        assert line, "the watch ended"
        if json.loads(line)["object"]["metadata"]["name"] == name:
            return


async def time_changes(
    session: aiohttp.ClientSession,
    base: str,
    runtime: FakeRuntime,
    watchers: int,
    changes: int,
    first: int,
) -> str:
    watches = [await open_watch(session, base) for _ in range(watchers)]
    delays, cpu = [], []
    for i in range(first, first + changes):
        name = f"web-{i:04d}"
        record = next(
            r for r in runtime.find("app", running=True) if r.config.identity.pod.name == name
        )
        cpu_start, start = time.process_time(), time.perf_counter()
        runtime.exit(record.id, 1)
        async with asyncio.timeout(30):
            await asyncio.gather(*(until_event(w, name) for w in watches))
        delays.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
        await asyncio.sleep(0.6)  # a poller's tick passes: events still trickling are drained
        for w in watches:
            while not w.content.at_eof() and w.content._buffer:
                await w.content.readline()
    for w in watches:
        w.close()
    return f"{stats(delays)} | {statistics.median(cpu) * 1000:7.1f} ms |"


async def idle_cpu(session: aiohttp.ClientSession, base: str, watches: int, seconds: float) -> str:
    opened = [await open_watch(session, base) for _ in range(watches)]
    await asyncio.sleep(1.0)
    cpu_start, start = time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    share = (time.process_time() - cpu_start) / (time.perf_counter() - start)
    for w in opened:
        w.close()
    return f"{share * 100:.2f} % of a core over {seconds:.0f} s"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--changes", type=int, default=5)
    parser.add_argument("--watchers", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--idle-watches", type=int, default=10)
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--poll", action="store_true", help="serve watches by the 0.5 s poll")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    started = time.perf_counter()
    engine, runtime = await bring_up(args.pods)
    print(f"{args.pods} pods up on the fake runtime in {time.perf_counter() - started:.1f} s")
    runner, base = await serve(engine, args.poll)
    mode = "poll every 0.5 s" if args.poll else "change signal"
    print(f"watches: {mode}\n")
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        await time_lists(session, base, 2, table=False)  # the first render
        print("| what | median | p95 | CPU (median) | size |")
        print("| --- | ---: | ---: | ---: | ---: |")
        print(f"| list JSON | {await time_lists(session, base, args.requests, False)} |")
        print(f"| list Table | {await time_lists(session, base, args.requests, True)} |")
        first = 0
        for n in args.watchers:
            result = await time_changes(session, base, runtime, n, args.changes, first)
            print(f"| watch, {n} watchers, one change | {result} |")
            first += args.changes
        print()
        idle = await idle_cpu(session, base, args.idle_watches, args.idle_seconds)
        print(f"idle, {args.idle_watches} open watches, nothing changing: {idle}")
    await runner.cleanup()
    await engine.stop()


if __name__ == "__main__":
    asyncio.run(main())
