"""`prove --ray-address` and `learn --workers N --ray-address` against a real Ray cluster of two local nodes.

`ray start --head` plus a second node (`ray start --address`), one CPU each, so that the two prover workers
must run on different nodes. The cluster runs with its own temporary folder, ports and authentication token
(nothing read from or written to ~/.ray), and is stopped by signalling the `ray start --block` processes
this test started and then whatever they spawned: never `ray stop`, which stops every Ray on the machine.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest
from sqlalchemy import func, select

from leanagent.db.models import Proof

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
RAY = str(Path(sys.executable).with_name("ray"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def _node_args(head: bool) -> list[str]:
    """One CPU, no GPU, a small object store, and free ports: another Ray on this machine keeps its own."""
    ports = ["node-manager-port", "object-manager-port", "dashboard-agent-listen-port", "dashboard-agent-grpc-port",
             "runtime-env-agent-port", "metrics-export-port"]
    if head:
        ports += ["ray-client-server-port", "dashboard-port"]
    return [f"--{p}={_free_port()}" for p in ports] + [
        "--num-cpus=1", "--num-gpus=0", f"--object-store-memory={100 * 1024 * 1024}", "--disable-usage-stats",
        "--block"] + (["--include-dashboard=false"] if head else [])


class Cluster:
    def __init__(self):
        # A short folder: Ray's socket paths under it must stay within the 107-byte limit of a Unix socket.
        self.temp = tempfile.mkdtemp(prefix="la-ray-")
        # Token authentication, with a token of its own passed by environment (the default would be a shared
        # ~/.ray/auth_token); the driver needs the same variables.
        self.env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
        self.procs: list[subprocess.Popen] = []
        self.address = ""

    def _start(self, *args: str, log: str) -> subprocess.Popen:
        with open(Path(self.temp) / log, "w") as out:
            # A session of its own: a Ctrl-C at the terminal goes to pytest, and the stop below does the rest.
            proc = subprocess.Popen([RAY, "start", *args], stdout=out, stderr=subprocess.STDOUT, env=self.env,
                                    start_new_session=True)
        self.procs.append(proc)
        return proc

    def _wait(self, what: str, ready, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self.procs):
                break
            if ready():
                return
            time.sleep(1)
        logs = {p.name: p.read_text()[-2000:] for p in Path(self.temp).glob("*.log")}
        raise AssertionError(f"Ray cluster: {what} not ready: {logs}")

    def start(self) -> str:
        port = _free_port()
        self._start("--head", f"--port={port}", f"--temp-dir={self.temp}", *_node_args(True), log="head.log")

        def printed() -> bool:
            # The address in the form `ray start` prints it (the node's IP, which need not be 127.0.0.1).
            found = re.search(r"ray start --address='([^']+)'", (Path(self.temp) / "head.log").read_text())
            self.address = found.group(1) if found else ""
            return bool(found)

        self._wait("the head node", printed)
        self._start(f"--address={self.address}", *_node_args(False), log="worker.log")
        self._wait("the second node", lambda: self.nodes() == 2)
        return self.address

    def nodes(self) -> int:
        out = subprocess.run([RAY, "status", f"--address={self.address}"], capture_output=True, text=True,
                             env=self.env).stdout
        active = out.split("Active:", 1)[-1].split("Pending:", 1)[0]
        return len(re.findall(r"\bnode_[0-9a-f]+", active))

    def stop(self) -> None:
        """SIGTERM to each `ray start --block` (it stops its node's processes), then SIGKILL to anything of
        theirs still alive: only processes this cluster started."""
        tree = []
        for proc in self.procs:
            try:
                tree += [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
            except psutil.Error:
                pass
        for proc in reversed(self.procs):  # the second node first, then the head
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        _, alive = psutil.wait_procs(tree, timeout=10)
        for p in alive:
            try:
                p.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(alive, timeout=10)
        shutil.rmtree(self.temp, ignore_errors=True)


@pytest.fixture
def ray_cluster():
    cluster = Cluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def _leanagent(cluster: Cluster, *args, timeout: float = 600) -> tuple[int, list[dict], str]:
    # A process of its own: the driver joins the cluster with ray.init(address=...), which a test process
    # could not undo for the tests after it.
    proc = subprocess.run([sys.executable, "-m", "leanagent", "--json", *map(str, args)], capture_output=True,
                          text=True, env=cluster.env, timeout=timeout)
    return proc.returncode, [json.loads(line) for line in proc.stdout.splitlines() if line.strip()], proc.stderr


def test_prove_and_learn_on_a_two_node_ray_cluster(ray_cluster, example_db, db_url, tmp_path):
    t0 = time.monotonic()
    # Two workers of one CPU each on two nodes of one CPU each: each node runs one of them.
    code, events, err = _leanagent(ray_cluster, "--db", db_url, "prove", "--env", "replay", "--workers", "2",
                                   "--ray-address", ray_cluster.address, "--theorems", "all",
                                   "--proposer", "frequency", "--num-tactics", "8", "--max-expansions", "8",
                                   "--limit", "8")
    assert code == 0, err
    summary = events[-1]
    assert summary["attempted"] == 8 and summary["proved"] >= 1, summary
    with example_db.session() as s:
        assert s.scalar(select(func.count()).select_from(Proof)) == summary["proved"]

    # The lifelong loop proves on the same cluster (one repository, tiny models, three theorems).
    (tmp_path / "repos.yaml").write_text(
        f"repos:\n  - name: nat\n    traced: {ROOT / 'examples' / 'nat-list'}\n    include: ['NatList/Nat/**']\n")
    (tmp_path / "tiny.yaml").write_text(
        "learn: {prove_timeout: 5, max_expansions: 2, num_tactics: 2, eval_limit: 2, knn_encoder: tiny-bert, "
        "prove_limit: 3}\ntrain: {batch_size: 4, warmup_steps: 1, max_steps: 1}\nretriever: {encoder: tiny-bert}\n"
        "generator: {d_model: 8, num_layers: 2, num_heads: 2, d_ff: 16, max_output_bytes: 8, num_premises: 2}\n")
    code, events, err = _leanagent(ray_cluster, "--db", f"sqlite:///{tmp_path / 'learn.sqlite'}", "--home",
                                   tmp_path / "home", "learn", "--repos", tmp_path / "repos.yaml", "--config",
                                   tmp_path / "tiny.yaml", "--env", "replay", "--workers", "2",
                                   "--ray-address", ray_cluster.address)
    assert code == 0, err
    assert len([e for e in events if e["event"] == "attempt"]) == 3
    assert ray_cluster.nodes() == 2  # both nodes lived through it
    print(f"prove + learn on the cluster: {time.monotonic() - t0:.1f}s")
